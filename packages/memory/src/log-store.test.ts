import { blankEntry, ErrorCode, hasErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { VirtualScheduler } from '../test/router-fixtures.ts';
import { memoryLogStore } from './log-store.ts';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return hasErrorCode(e) ? e.code : `other: ${String(e)}`;
  }
}

describe('memoryLogStore durability', () => {
  it('manual flush runs callbacks only when asked, oldest first', async () => {
    const s = memoryLogStore({ flush: 'manual' });
    const calls: number[] = [];
    await s.append([blankEntry(1, 0)], () => calls.push(0));
    await s.append([blankEntry(1, 1)], () => calls.push(1));
    expect(s.pendingFlushes).toBe(2);
    expect(calls).toEqual([]);
    expect(s.flush(1)).toBe(1);
    expect(calls).toEqual([0]);
    expect(s.flush()).toBe(1);
    expect(calls).toEqual([0, 1]);
    expect(s.pendingFlushes).toBe(0);
  });

  it('crash keeps only what was durable (a resolved truncate included); a restart continues from it', async () => {
    const s = memoryLogStore({ flush: 'manual' });
    await s.append([blankEntry(1, 0), blankEntry(1, 1)], () => {});
    s.flush();
    await s.append([blankEntry(1, 2)], () => {});
    await s.truncate({ term: 1, index: 1 });
    await s.append([blankEntry(2, 1)], () => {});
    const durable = s.crash();
    expect(durable.entries.map((e) => e.logId.index)).toEqual([0]);
    expect(await codeOf(s.getLogState())).toBe(ErrorCode.StorageMisuse);
    const r = memoryLogStore({ initial: durable });
    expect(await r.getLogState()).toEqual({ lastPurgedLogId: null, lastLogId: { term: 1, index: 0 } });
  });

  it('saveVote makes every earlier write durable (writes are ordered)', async () => {
    const s = memoryLogStore({ flush: 'manual' });
    let flushed = false;
    await s.append([blankEntry(1, 0)], () => (flushed = true));
    await s.saveVote({ term: 2, nodeId: 'x', committed: false });
    expect(flushed).toBe(true);
    expect(s.durableState().vote).toEqual({ term: 2, nodeId: 'x', committed: false });
    expect(s.durableState().entries.length).toBe(1);
  });

  it('delayed flush uses the injected timer', async () => {
    const clock = new VirtualScheduler();
    const s = memoryLogStore({ flush: { delayMs: 10 }, setTimer: (fn, ms) => clock.setTimeout(fn, ms) });
    let flushed = false;
    await s.append([blankEntry(1, 0)], () => (flushed = true));
    await clock.advance(5);
    expect(flushed).toBe(false);
    await clock.advance(5);
    expect(flushed).toBe(true);
  });

  it('injected failures surface as StorageError', async () => {
    const s = memoryLogStore();
    s.failNext('append');
    expect(await codeOf(s.append([blankEntry(1, 0)], () => {}))).toBe(ErrorCode.Storage);
    s.failNext('saveVote');
    expect(await codeOf(s.saveVote({ term: 1, nodeId: null, committed: false }))).toBe(ErrorCode.Storage);
    s.failNext('read');
    expect(await codeOf(s.reader().tryGetLogEntries(0, 1))).toBe(ErrorCode.Storage);
    s.failNext('flush');
    const errors: (Error | undefined)[] = [];
    await s.append([blankEntry(1, 0)], (err) => errors.push(err));
    await new Promise((r) => setImmediate(r));
    expect(errors.length).toBe(1);
    expect(hasErrorCode(errors[0], ErrorCode.Storage)).toBe(true);
  });

  it('refuses every call after close', async () => {
    const s = memoryLogStore();
    await s.close();
    expect(s.closed).toBe(true);
    expect(await codeOf(s.readVote())).toBe(ErrorCode.StorageMisuse);
    expect(await codeOf(s.append([], () => {}))).toBe(ErrorCode.StorageMisuse);
  });

  it('getKeyLogIds refuses a range it does not hold', async () => {
    const s = memoryLogStore();
    await s.append([blankEntry(1, 0), blankEntry(2, 1)], () => {});
    expect(await codeOf(s.reader().getKeyLogIds({ term: 1, index: 0 }, { term: 2, index: 5 }))).toBe(
      ErrorCode.StorageMisuse,
    );
  });

  it('purges beyond the end: the log empties and continues after the purged id, durably', async () => {
    const s = memoryLogStore({ flush: 'manual' });
    await s.append([blankEntry(1, 0), blankEntry(1, 1)], () => {});
    await s.purge({ term: 3, index: 9 });
    const emptied = { lastPurgedLogId: { term: 3, index: 9 }, lastLogId: { term: 3, index: 9 } };
    expect(await s.getLogState()).toEqual(emptied);
    expect(await codeOf(s.append([blankEntry(3, 2)], () => {}))).toBe(ErrorCode.StorageMisuse);
    expect(await codeOf(s.append([blankEntry(3, 11)], () => {}))).toBe(ErrorCode.StorageMisuse);
    await s.append([blankEntry(3, 10)], () => {});
    expect((await s.reader().tryGetLogEntries(0, 20)).map((e) => e.logId.index)).toEqual([10]);
    // The purge was durable when it resolved; the append after it is not yet.
    expect(s.durableState()).toMatchObject({ lastPurgedLogId: { term: 3, index: 9 }, entries: [] });
    s.flush();
    const restarted = memoryLogStore({ initial: s.crash() });
    expect(await restarted.getLogState()).toEqual({
      lastPurgedLogId: { term: 3, index: 9 },
      lastLogId: { term: 3, index: 10 },
    });
  });
});
