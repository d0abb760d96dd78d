import type { Entry } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { fileLogStore } from '../src/index.ts';
import { CrashFileIO, type FaultOp } from '../src/testing/index.ts';
import { appendDurable, entries } from './helpers.ts';

function errno(code: string): Error {
  return Object.assign(new Error(`${code}: injected`), { code });
}

async function faultAfterAcks(op: FaultOp, code: string) {
  const io = new CrashFileIO();
  const s = await fileLogStore('/s', { segmentBytes: 200, io });
  await appendDurable(s, entries(1, 0, 10));
  await s.saveVote({ term: 1, nodeId: 'a', committed: true });
  let armed = true;
  io.faults = (o, path) => (armed && o === op && path.endsWith('.seg') ? errno(code) : undefined);
  const errs: (Error | undefined)[] = [];
  const done = new Promise<void>((resolve) => {
    void s.append(entries(1, 10, 12), (err) => {
      errs.push(err);
      resolve();
    });
  });
  await done;
  armed = false;
  return { io, s, errs };
}

describe('injected I/O errors', () => {
  for (const [op, code] of [
    ['datasync', 'EIO'],
    ['write', 'ENOSPC'],
  ] as const) {
    it(`${code} on ${op}: the callback gets the error, the store refuses writes, nothing acknowledged is lost`, async () => {
      const { io, s, errs } = await faultAfterAcks(op, code);
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ code: 'STORAGE' });
      expect((errs[0] as Error & { cause: { code: string } }).cause.code).toBe(code);
      await expect(s.append(entries(1, 12, 13), () => {})).rejects.toMatchObject({ code: 'STORAGE' });
      await expect(s.saveVote({ term: 2, nodeId: 'b', committed: false })).rejects.toMatchObject({
        code: 'STORAGE',
      });
      await expect(s.truncate({ term: 1, index: 3 })).rejects.toMatchObject({ code: 'STORAGE' });
      await expect(s.sync()).rejects.toMatchObject({ code: 'STORAGE' });
      // Reads keep working.
      expect(await s.reader().tryGetLogEntries(0, 10)).toEqual(entries(1, 0, 10));
      const t = await fileLogStore('/s', { io: io.crash('loseUnsynced') });
      const got: Entry[] = await t.reader().tryGetLogEntries(0, 100);
      expect(got).toEqual(entries(1, 0, 10));
      expect(await t.readVote()).toEqual({ term: 1, nodeId: 'a', committed: true });
      await t.close();
    });
  }

  it('every append queued behind a failed batch gets the error once, in order', async () => {
    const io = new CrashFileIO();
    const s = await fileLogStore('/s', { io });
    io.faults = (o) => (o === 'datasync' ? errno('EIO') : undefined);
    const calls: number[] = [];
    const all = [0, 1, 2].map(
      (i) =>
        new Promise<void>((resolve) => {
          void s.append(entries(1, i, i + 1), (err) => {
            if (err !== undefined) calls.push(i);
            resolve();
          });
        }),
    );
    await Promise.all(all);
    expect(calls).toEqual([0, 1, 2]);
  });

  it('a failing meta write rejects saveVote with a StorageError', async () => {
    const io = new CrashFileIO();
    const s = await fileLogStore('/s', { io });
    io.faults = (o) => (o === 'rename' ? errno('EIO') : undefined);
    await expect(s.saveVote({ term: 1, nodeId: 'a', committed: false })).rejects.toMatchObject({
      code: 'STORAGE',
      op: 'flush',
    });
  });
});
