import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLogStore } from '../src/index.ts';
import { CrashFileIO } from '../src/testing/index.ts';
import { tempDirPerTest } from './helpers.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});

describe('directories that are not usable stores', () => {
  it('a directory holding other files is not a store, and is left untouched', async () => {
    await writeFile(join(dir, 'notes.txt'), 'hello');
    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'NOT_A_STORE', file: dir });
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['notes.txt']);
  });

  it('a meta file that is not ours is not a store', async () => {
    await writeFile(join(dir, 'meta'), '{"hello":1}\n');
    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'NOT_A_STORE', file: join(dir, 'meta') });
  });

  it('a file path is not a store', async () => {
    const f = join(dir, 'file');
    await writeFile(f, 'x');
    await expect(fileLogStore(f)).rejects.toMatchObject({ code: 'NOT_A_STORE' });
  });

  it('a missing directory with create: false is not a store; with the default it is created', async () => {
    const d = join(dir, 'a', 'b');
    await expect(fileLogStore(d, { create: false })).rejects.toMatchObject({ code: 'NOT_A_STORE' });
    const s = await fileLogStore(d);
    expect(await s.getLogState()).toEqual({ lastPurgedLogId: null, lastLogId: null });
    await s.close();
  });

  it('segments without a meta file are refused', async () => {
    await mkdir(join(dir, 'x'));
    await writeFile(join(dir, 'x', '00000000000000000000.seg'), 'x');
    await expect(fileLogStore(join(dir, 'x'))).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
  });

  it('permission denied is STORE_ACCESS', async () => {
    const io = new CrashFileIO();
    await io.mkdir('/s');
    io.faults = (op) =>
      op === 'readdir' ? Object.assign(new Error('EACCES: no'), { code: 'EACCES' }) : undefined;
    await expect(fileLogStore('/s', { io })).rejects.toMatchObject({ code: 'STORE_ACCESS', file: '/s' });
  });

  it('a lock held by another live process is STORE_LOCKED; a dead one is taken over', async () => {
    const io = new CrashFileIO();
    await fileLogStore('/s', { io }); // dropped without close, as by a crash
    const rebooted = io.crash('loseRenames');
    const plant = (pid: number) =>
      rebooted.plant('/s/LOCK', new TextEncoder().encode(JSON.stringify({ pid, incarnation: 'other' })));
    plant(424242);
    rebooted.alivePids.add(424242);
    await expect(fileLogStore('/s', { io: rebooted })).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    rebooted.alivePids.delete(424242);
    const s = await fileLogStore('/s', { io: rebooted });
    await s.close();
  });

  it('bad options are refused', async () => {
    await expect(fileLogStore(dir, { segmentBytes: 3 })).rejects.toThrow(/segmentBytes/);
    const s = await fileLogStore(dir); // nothing was locked
    await s.close();
  });
});
