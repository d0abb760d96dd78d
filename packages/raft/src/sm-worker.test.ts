import {
  type ApplyEntry,
  blankEntry,
  type Entry,
  ErrorCode,
  emptyStoredMembership,
  type LogId,
  normalEntry,
  type RaftLogReader,
  type RaftStateMachine,
  type SnapshotMeta,
  snapshotDataOf,
} from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { msgpackCodec } from './codec.ts';
import { type AppliedEntry, StateMachineWorker } from './sm-worker.ts';

const codec = msgpackCodec<number>();

function fixture(
  n: number,
  opts: { failReadAt?: number; readGate?: Promise<void>; yieldNever?: boolean } = {},
) {
  const log: Entry[] = [blankEntry(1, 0)];
  for (let i = 1; i < n; i++) log.push(normalEntry(1, i, codec.encode(i * 10)));
  let reads = 0;
  const reader: RaftLogReader = {
    async tryGetLogEntries(s, e) {
      reads++;
      if (opts.readGate !== undefined) await opts.readGate;
      if (opts.failReadAt !== undefined && s <= opts.failReadAt && opts.failReadAt < e)
        throw new Error('EIO');
      return log.slice(s, e);
    },
    async limitedGetLogEntries(s, e) {
      return log.slice(s, e);
    },
    async getKeyLogIds() {
      return [];
    },
  };
  const applied: number[] = [];
  let sum = 0;
  let release: (() => void) | null = null;
  const sm: RaftStateMachine<number, number> = {
    async appliedState() {
      return { lastApplied: null, lastMembership: emptyStoredMembership() };
    },
    async apply(entries: readonly ApplyEntry<number>[]) {
      return entries.map((e) => {
        applied.push(e.logId.index);
        if (e.payload.type !== 'normal') return undefined;
        sum += e.payload.data;
        return sum;
      });
    },
    snapshotBuilder() {
      const at = applied.length;
      return {
        async buildSnapshot() {
          await new Promise<void>((r) => {
            release = r;
          });
          const meta: SnapshotMeta = {
            lastLogId: { term: 1, index: at - 1 },
            lastMembership: emptyStoredMembership(),
            snapshotId: `s${at}`,
          };
          return { meta, data: snapshotDataOf(new Uint8Array()) };
        },
      };
    },
    async installSnapshot(meta) {
      applied.push(-1);
      sum = 0;
      void meta;
    },
    async getCurrentSnapshot() {
      return null;
    },
  };
  const out: { last: LogId; entries: AppliedEntry<number>[] }[] = [];
  const built: (SnapshotMeta | null)[] = [];
  const installed: SnapshotMeta[] = [];
  const fatal: Error[] = [];
  let yields = 0;
  const worker = new StateMachineWorker<number, number>({
    stateMachine: sm,
    reader,
    codec,
    lastApplied: null,
    chunk: 4,
    yieldNow: async () => {
      yields++;
      // A busy microtask queue: the event loop never gets to `setImmediate`.
      await new Promise((r) => (opts.yieldNever === true ? undefined : setImmediate(r)));
    },
    events: {
      applied: (last, entries) => out.push({ last, entries }),
      snapshotBuilt: (meta) => built.push(meta),
      snapshotInstalled: (meta) => installed.push(meta),
      fatal: (e) => fatal.push(e),
    },
  });
  return {
    worker,
    applied,
    out,
    built,
    installed,
    fatal,
    reads: () => reads,
    yields: () => yields,
    release: () => release?.(),
  };
}

const letWorkerRun = () => new Promise((r) => setTimeout(r, 20));

describe('StateMachineWorker', () => {
  it('applies committed ranges in order, in chunks, yielding between chunks, with decoded data and responses', async () => {
    const f = fixture(10);
    f.worker.apply(null, { term: 1, index: 5 });
    f.worker.apply({ term: 1, index: 5 }, { term: 1, index: 9 });
    await letWorkerRun();
    expect(f.applied).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(f.out.map((o) => o.last.index)).toEqual([3, 5, 9]);
    expect(f.out[0]?.entries).toEqual([
      { logId: { term: 1, index: 0 }, response: undefined },
      { logId: { term: 1, index: 1 }, response: 10 },
      { logId: { term: 1, index: 2 }, response: 30 },
      { logId: { term: 1, index: 3 }, response: 60 },
    ]);
    expect(f.yields()).toBeGreaterThanOrEqual(1);
  });
  it('resumes a yielded apply when new work is pushed, even if the event loop never turns', async () => {
    const f = fixture(12, { yieldNever: true });
    f.worker.apply(null, { term: 1, index: 11 });
    await letWorkerRun();
    expect(f.applied).toEqual([0, 1, 2, 3]); // one chunk, then a yield that never ends by itself
    f.worker.apply({ term: 1, index: 11 }, { term: 1, index: 11 });
    await letWorkerRun();
    expect(f.applied).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    f.worker.buildSnapshot();
    await letWorkerRun();
    expect(f.applied).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(f.out.map((o) => o.last.index)).toEqual([3, 7, 11]);
    expect(f.fatal).toEqual([]);
  });
  it('builds a snapshot without blocking later applies', async () => {
    const f = fixture(10);
    f.worker.apply(null, { term: 1, index: 3 });
    f.worker.buildSnapshot();
    f.worker.apply({ term: 1, index: 3 }, { term: 1, index: 9 });
    await letWorkerRun();
    expect(f.applied).toHaveLength(10); // applies went on while the build was pending
    expect(f.built).toEqual([]);
    f.release();
    await letWorkerRun();
    expect(f.built.map((m) => m?.lastLogId)).toEqual([{ term: 1, index: 3 }]);
  });
  it('a build asked for while one runs is run after it, covering the later applies', async () => {
    const f = fixture(10);
    f.worker.apply(null, { term: 1, index: 3 });
    f.worker.buildSnapshot();
    f.worker.apply({ term: 1, index: 3 }, { term: 1, index: 9 });
    await letWorkerRun();
    f.worker.buildSnapshot(); // the first build still waits
    f.release();
    await letWorkerRun();
    f.release();
    await letWorkerRun();
    expect(f.built.map((m) => m?.lastLogId?.index)).toEqual([3, 9]);
  });
  it('installs snapshots in order with applies and skips what they cover', async () => {
    const f = fixture(10);
    const meta: SnapshotMeta = {
      lastLogId: { term: 1, index: 6 },
      lastMembership: emptyStoredMembership(),
      snapshotId: 'x',
    };
    const installed = f.worker.installSnapshot(meta, snapshotDataOf(new Uint8Array([1])));
    f.worker.apply(null, { term: 1, index: 8 });
    await installed;
    await letWorkerRun();
    expect(f.applied).toEqual([-1, 7, 8]);
    expect(f.installed).toEqual([meta]);
  });
  it('stops with a fatal storage error when a committed entry cannot be read, and never retries', async () => {
    const f = fixture(10, { failReadAt: 4 });
    f.worker.apply(null, { term: 1, index: 9 });
    await letWorkerRun();
    expect(f.fatal).toHaveLength(1);
    expect(f.fatal[0]).toMatchObject({ code: ErrorCode.Storage });
    const reads = f.reads();
    f.worker.apply(null, { term: 1, index: 9 });
    await letWorkerRun();
    expect(f.reads()).toBe(reads);
    expect(f.applied).toEqual([0, 1, 2, 3]);
  });
  it('rejects a queued snapshot install when the worker stops before running it', async () => {
    const f = fixture(10);
    const meta: SnapshotMeta = {
      lastLogId: { term: 1, index: 6 },
      lastMembership: emptyStoredMembership(),
      snapshotId: 'y',
    };
    f.worker.apply(null, { term: 1, index: 9 });
    const installed = f.worker.installSnapshot(meta, snapshotDataOf(new Uint8Array([1])));
    const stopping = f.worker.stop();
    await expect(installed).rejects.toMatchObject({ code: ErrorCode.Stopped });
    await stopping;
    expect(f.installed).toEqual([]);
  });
  it('stop waits for a job that hangs without spinning the event loop, and resolves once it ends', async () => {
    let open = (): void => {};
    const f = fixture(10, { readGate: new Promise<void>((r) => (open = r)) });
    f.worker.apply(null, { term: 1, index: 9 });
    let stopped = false;
    const stopping = f.worker.stop().then(() => {
      stopped = true;
    });
    await letWorkerRun();
    expect(stopped).toBe(false);
    // Waiting is not polling: no yield to the event loop per turn while the read hangs.
    expect(f.yields()).toBe(0);
    open();
    await stopping;
    expect(stopped).toBe(true);
    // Stopped after the current chunk: the rest is not applied.
    expect(f.applied).toEqual([0, 1, 2, 3]);
  });
  it('reports a missing committed entry as a bug', async () => {
    const f = fixture(3);
    f.worker.apply(null, { term: 1, index: 5 });
    await letWorkerRun();
    expect(f.fatal[0]).toMatchObject({ code: ErrorCode.Panicked });
  });
});
