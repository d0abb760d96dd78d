import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VolatileFileIO } from './volatile-file-io.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kv-volatile-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (s: string) => new TextEncoder().encode(s);
const text = async (p: string) => (await readFile(p)).toString('latin1');

describe('VolatileFileIO', () => {
  it('writes reach the disk at once (a kill -9 keeps them); a power loss restores the last synced image', async () => {
    const io = new VolatileFileIO();
    const p = join(dir, 'f');
    const h = await io.open(p, 'create');
    await h.write(bytes('durable'), 0);
    await h.datasync();
    await h.write(bytes('-volatile'), 7);
    await h.write(bytes('D'), 0); // overwrites synced bytes
    expect(await text(p)).toBe('Durable-volatile');
    const dropped = await io.powerLoss();
    expect(dropped.files).toBe(1);
    expect(await text(p)).toBe('durable');
    // After the power loss nothing runs: later calls never settle.
    const late = await Promise.race([h.size(), new Promise((r) => setTimeout(() => r('hung'), 50))]);
    expect(late).toBe('hung');
  });

  it('undoes truncations and truncating opens; a file first seen on disk counts as durable', async () => {
    const p = join(dir, 'old');
    await writeFile(p, 'from before');
    const q = join(dir, 'meta');
    await writeFile(q, 'meta v1');
    const io = new VolatileFileIO();
    const h = await io.open(p, 'readWrite');
    await h.truncate(4);
    await h.write(bytes('!'), 4);
    const t = await io.open(q, 'createTruncate');
    await t.write(bytes('v2'), 0);
    await io.powerLoss();
    expect(await text(p)).toBe('from before');
    expect(await text(q)).toBe('meta v1');
  });

  it('a renamed synced file keeps its content; skipFsync files never become durable; failNextFsync fails once', async () => {
    const io = new VolatileFileIO({ skipFsync: (path) => path.endsWith('.wal') });
    const tmp = join(dir, 'x.tmp');
    const a = await io.open(tmp, 'createExclusive');
    await a.write(bytes('snapshot'), 0);
    await a.datasync();
    await a.close();
    await io.rename(tmp, join(dir, 'x'));
    const w = await io.open(join(dir, 'log.wal'), 'create');
    await w.write(bytes('entries'), 0);
    await w.datasync(); // skipped: the planted bug
    const b = await io.open(join(dir, 'y'), 'create');
    await b.write(bytes('y'), 0);
    io.failNextFsync();
    await expect(b.datasync()).rejects.toMatchObject({ code: 'EIO' });
    expect(io.failedFsyncs).toBe(1);
    await b.datasync();
    await io.powerLoss();
    expect(await text(join(dir, 'x'))).toBe('snapshot');
    expect(await text(join(dir, 'log.wal'))).toBe('');
    expect(await text(join(dir, 'y'))).toBe('y');
  });
});
