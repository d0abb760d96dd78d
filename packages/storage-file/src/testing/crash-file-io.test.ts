import { describe, expect, it } from 'vitest';
import { CrashFileIO } from './crash-file-io.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

async function setup() {
  const io = new CrashFileIO();
  await io.mkdir('/d');
  const f = await io.open('/d/f', 'create');
  await f.write(enc('hello'), 0);
  await f.datasync();
  await io.fsyncDir('/d');
  await f.write(enc(' world'), 5);
  return { io, f };
}

describe('CrashFileIO', () => {
  it('loses unsynced writes, keeps synced ones', async () => {
    const { io } = await setup();
    expect(dec(io.peek('/d/f'))).toBe('hello world');
    expect(dec(io.crash('loseUnsynced').peek('/d/f'))).toBe('hello');
    expect(dec(io.crash('tearLastWrite').peek('/d/f'))).toBe('hello wo');
    expect(dec(io.crash({ keepPrefix: 1 }).peek('/d/f'))).toBe('hello world');
  });

  it('loses creates and renames not followed by a directory fsync, even of synced files', async () => {
    const { io } = await setup();
    const g = await io.open('/d/g', 'createExclusive');
    await g.write(enc('new'), 0);
    await g.datasync();
    await io.rename('/d/g', '/d/f');
    expect(dec(io.peek('/d/f'))).toBe('new');
    expect(dec(io.crash('loseUnsynced').peek('/d/f'))).toBe('hello');
    const lr = io.crash('loseRenames');
    expect([dec(lr.peek('/d/f')), dec(lr.peek('/d/g'))]).toEqual(['hello world', 'new']);
    await io.fsyncDir('/d');
    expect(dec(io.crash('loseUnsynced').peek('/d/f'))).toBe('new');
    expect(await io.crash('loseUnsynced').readdir('/d')).toEqual(['f']);
  });

  it('fails every call after the crash point, and injects faults', async () => {
    const { io, f } = await setup();
    io.crashAfter = io.mutations + 1;
    await f.truncate(2);
    await expect(f.datasync()).rejects.toMatchObject({ code: 'ECRASHED' });
    await expect(io.readdir('/d')).rejects.toMatchObject({ code: 'ECRASHED' });
    const io2 = io.crash('loseUnsynced');
    io2.faults = (op) => (op === 'open' ? Object.assign(new Error('x'), { code: 'EACCES' }) : undefined);
    await expect(io2.open('/d/f', 'read')).rejects.toMatchObject({ code: 'EACCES' });
    await expect(new CrashFileIO().readdir('/nope')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
