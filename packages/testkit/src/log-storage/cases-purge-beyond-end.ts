import { type Entry, ErrorCode, type LogId } from '@flotilla/types';
import { expect } from 'vitest';
import type { ConformanceCase } from '../case.ts';
import { entriesOf, entryAt, expectRejectCode, FlushProbe } from '../testing/fixtures.ts';
import { type LogStorageHarness, type StoreContext, withStore } from './harness.ts';

/** The log state of a log emptied by a purge up to `upto`. */
const emptiedAt = (upto: LogId) => ({ lastPurgedLogId: upto, lastLogId: upto });

/**
 * Purges beyond the last entry, as a follower does when it installs a snapshot that covers more
 * than its log (openraft semantics): the log empties, `upto` becomes both the purged and the last
 * log id, and the log continues at `upto.index + 1`.
 */
export function purgeBeyondEndCases(harness: LogStorageHarness): ConformanceCase[] {
  const c = (name: string, run: Parameters<typeof withStore>[1]): ConformanceCase => ({
    name,
    run: () => withStore(harness, run),
  });
  /** Checks that appending `bad` is refused as a hole or an overlap, changes nothing, never flushes. */
  const refusedAppend = async (s: StoreContext, bad: Entry[], what: string): Promise<void> => {
    const before = await s.state();
    const entries = await s.read(0, 1_000);
    const p = new FlushProbe();
    const err = await expectRejectCode(s.store.append(bad, p.onFlushed), ErrorCode.StorageMisuse, what);
    expect(['Hole', 'NotConsecutive'], `${what}: reason`).toContain((err as { reason?: unknown }).reason);
    await s.expectLog(entries, before);
    expect(p.calls, `${what}: flush callback of a refused append`).toBe(0);
  };
  return [
    c('a purge beyond the last entry empties the log and reports upto as purged and last', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 4));
      await s.store.purge({ term: 2, index: 7 });
      await s.expectLog([], emptiedAt({ term: 2, index: 7 }));
      expect(await s.store.reader().limitedGetLogEntries(0, 20), 'limited read').toEqual([]);
      expect(await s.read(3, 9), 'read around the old end and upto').toEqual([]);
      expect(await s.read(8, 20), 'read past upto').toEqual([]);
    }),
    c('a purge of an empty log records the purged id', async (s) => {
      await s.store.purge({ term: 3, index: 4 });
      await s.expectLog([], emptiedAt({ term: 3, index: 4 }));
    }),
    c('an append after a purge beyond the end continues at upto.index + 1', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 4));
      await s.store.purge({ term: 2, index: 7 });
      const more = entriesOf(2, 8, 11);
      await s.appendFlushed(more);
      await s.expectLog(more, { lastPurgedLogId: { term: 2, index: 7 }, lastLogId: { term: 2, index: 10 } });
      const limited = await s.store.reader().limitedGetLogEntries(0, 20);
      expect(limited.length, 'limited read is a non-empty prefix').toBeGreaterThan(0);
      expect(limited, 'limited read starts at upto.index + 1').toEqual(more.slice(0, limited.length));
    }),
    c('getKeyLogIds works on entries appended after a purge beyond the end', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 3));
      await s.store.purge({ term: 2, index: 9 });
      await s.appendFlushed([...entriesOf(2, 10, 13), ...entriesOf(4, 13, 15)]);
      await s.appendFlushed(entriesOf(5, 15, 16));
      const reader = s.store.reader();
      expect(await reader.getKeyLogIds({ term: 2, index: 10 }, { term: 5, index: 15 })).toEqual([
        { term: 2, index: 12 },
        { term: 4, index: 14 },
        { term: 5, index: 15 },
      ]);
      expect(await reader.getKeyLogIds({ term: 2, index: 10 }, { term: 2, index: 11 })).toEqual([
        { term: 2, index: 11 },
      ]);
    }),
    c('an append not continuing after a purge beyond the end is refused', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 4));
      await s.store.purge({ term: 2, index: 7 });
      await refusedAppend(s, entriesOf(1, 4, 6), 'append at the old end 4 after purge of 7');
      await refusedAppend(s, entriesOf(2, 7, 9), 'append at the purged index 7');
      await refusedAppend(s, entriesOf(2, 9, 10), 'append at 9 after purge of 7');
      await s.appendFlushed([entryAt(2, 8)]);
      await s.expectLog([entryAt(2, 8)], {
        lastPurgedLogId: { term: 2, index: 7 },
        lastLogId: { term: 2, index: 8 },
      });
    }),
    c('a truncate into a purge beyond the end is refused', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 4));
      await s.store.purge({ term: 2, index: 7 });
      await expectRejectCode(s.store.truncate({ term: 1, index: 2 }), ErrorCode.StorageMisuse, 'truncate(2)');
      await expectRejectCode(s.store.truncate({ term: 2, index: 7 }), ErrorCode.StorageMisuse, 'truncate(7)');
      await s.expectLog([], emptiedAt({ term: 2, index: 7 }));
    }),
    c('a purge beyond the end is durable once a later write is', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 5));
      await s.store.purge({ term: 3, index: 12 });
      // saveVote is durable on resolve, and writes are ordered: the purge is durable too.
      await s.store.saveVote({ term: 3, nodeId: 'n1', committed: false });
      await s.durable();
      await s.expectLog([], emptiedAt({ term: 3, index: 12 }));
      await s.appendFlushed(entriesOf(3, 13, 15));
      await s.expectLog(entriesOf(3, 13, 15), {
        lastPurgedLogId: { term: 3, index: 12 },
        lastLogId: { term: 3, index: 14 },
      });
    }),
    c('a purge beyond the end drops entries that were not flushed yet', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 2));
      const early = new FlushProbe();
      await s.store.append(entriesOf(1, 2, 6), early.onFlushed);
      await s.store.purge({ term: 2, index: 9 });
      await s.appendFlushed(entriesOf(2, 10, 12));
      // Writes are ordered: the later flush means the earlier append was flushed first.
      expect(early.calls, 'flush callback of the append before the purge').toBe(1);
      expect(early.errors, 'flush result of the append before the purge').toEqual([undefined]);
      await s.expectLog(entriesOf(2, 10, 12), {
        lastPurgedLogId: { term: 2, index: 9 },
        lastLogId: { term: 2, index: 11 },
      });
    }),
    c('a partial purge then a purge beyond the end', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 10));
      await s.store.purge({ term: 1, index: 3 });
      await s.store.purge({ term: 4, index: 20 });
      await s.expectLog([], emptiedAt({ term: 4, index: 20 }));
      await s.appendFlushed([entryAt(4, 21)]);
      await s.expectLog([entryAt(4, 21)], {
        lastPurgedLogId: { term: 4, index: 20 },
        lastLogId: { term: 4, index: 21 },
      });
    }),
    c('a purge at or below a purge beyond the end changes nothing', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 3));
      await s.store.purge({ term: 2, index: 7 });
      await s.store.purge({ term: 2, index: 7 });
      await s.store.purge({ term: 1, index: 2 });
      await s.store.purge({ term: 1, index: 5 });
      await s.expectLog([], emptiedAt({ term: 2, index: 7 }));
    }),
    c('a purge beyond the end twice keeps the later id', async (s) => {
      await s.store.purge({ term: 1, index: 3 });
      await s.store.purge({ term: 2, index: 8 });
      await s.appendFlushed([entryAt(2, 9)]);
      await s.expectLog([entryAt(2, 9)], {
        lastPurgedLogId: { term: 2, index: 8 },
        lastLogId: { term: 2, index: 9 },
      });
    }),
  ];
}
