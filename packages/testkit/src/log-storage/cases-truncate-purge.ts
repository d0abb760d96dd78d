import { expect } from 'vitest';
import type { ConformanceCase } from '../case.ts';
import { entriesOf, entryAt } from '../testing/fixtures.ts';
import { type LogStorageHarness, withStore } from './harness.ts';

/** Truncate, purge and key-log-id cases. */
export function truncatePurgeCases(harness: LogStorageHarness): ConformanceCase[] {
  const c = (name: string, run: Parameters<typeof withStore>[1]): ConformanceCase => ({
    name,
    run: () => withStore(harness, run),
  });
  return [
    c('truncate removes the suffix from `since`', async (s) => {
      const es = entriesOf(1, 0, 10);
      await s.appendFlushed(es);
      await s.store.truncate({ term: 1, index: 6 });
      await s.expectLog(es.slice(0, 6), { lastPurgedLogId: null, lastLogId: { term: 1, index: 5 } });
    }),
    c('truncate of the whole log empties it', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 5));
      await s.store.truncate({ term: 1, index: 0 });
      await s.expectLog([], { lastPurgedLogId: null, lastLogId: null });
    }),
    c('truncate of the last entry only', async (s) => {
      const es = entriesOf(1, 0, 5);
      await s.appendFlushed(es);
      await s.store.truncate({ term: 1, index: 4 });
      await s.expectLog(es.slice(0, 4), { lastPurgedLogId: null, lastLogId: { term: 1, index: 3 } });
    }),
    c('entries appended after a truncate replace the old suffix', async (s) => {
      const es = entriesOf(1, 0, 8);
      await s.appendFlushed(es);
      await s.store.truncate({ term: 1, index: 5 });
      const fresh = entriesOf(3, 5, 9);
      await s.appendFlushed(fresh);
      await s.expectLog([...es.slice(0, 5), ...fresh], {
        lastPurgedLogId: null,
        lastLogId: { term: 3, index: 8 },
      });
    }),
    c('truncate is durable once a later append is flushed', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 6));
      await s.store.truncate({ term: 1, index: 2 });
      await s.appendFlushed([entryAt(2, 2)]);
      await s.expectLog([...entriesOf(1, 0, 2), entryAt(2, 2)], {
        lastPurgedLogId: null,
        lastLogId: { term: 2, index: 2 },
      });
    }),
    c('purge removes the prefix and records the last purged id', async (s) => {
      const es = entriesOf(1, 0, 10);
      await s.appendFlushed(es);
      await s.store.purge({ term: 1, index: 3 });
      await s.expectLog(es.slice(4), {
        lastPurgedLogId: { term: 1, index: 3 },
        lastLogId: { term: 1, index: 9 },
      });
    }),
    c('purge of every entry leaves lastLogId at the purged id', async (s) => {
      await s.appendFlushed(entriesOf(2, 0, 5));
      await s.store.purge({ term: 2, index: 4 });
      await s.expectLog([], { lastPurgedLogId: { term: 2, index: 4 }, lastLogId: { term: 2, index: 4 } });
    }),
    c('append after purging everything continues after the purged id', async (s) => {
      await s.appendFlushed(entriesOf(2, 0, 5));
      await s.store.purge({ term: 2, index: 4 });
      const more = entriesOf(3, 5, 7);
      await s.appendFlushed(more);
      await s.expectLog(more, { lastPurgedLogId: { term: 2, index: 4 }, lastLogId: { term: 3, index: 6 } });
    }),
    c('purge is durable once a later append is flushed', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 6));
      await s.store.purge({ term: 1, index: 2 });
      await s.appendFlushed([entryAt(1, 6)]);
      await s.expectLog(entriesOf(1, 3, 7), {
        lastPurgedLogId: { term: 1, index: 2 },
        lastLogId: { term: 1, index: 6 },
      });
    }),
    c('purge at or below the last purged id changes nothing', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 6));
      await s.store.purge({ term: 1, index: 3 });
      await s.store.purge({ term: 1, index: 3 });
      await s.store.purge({ term: 1, index: 1 });
      await s.expectLog(entriesOf(1, 4, 6), {
        lastPurgedLogId: { term: 1, index: 3 },
        lastLogId: { term: 1, index: 5 },
      });
    }),
    c('reads of a partly purged range return the unpurged part', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 10));
      await s.store.purge({ term: 1, index: 4 });
      expect(await s.read(0, 8)).toEqual(entriesOf(1, 5, 8));
      expect(await s.read(0, 5)).toEqual([]);
    }),
    c('truncate then purge then append keeps a consistent log state', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 10));
      await s.store.truncate({ term: 1, index: 8 });
      await s.store.purge({ term: 1, index: 5 });
      await s.appendFlushed(entriesOf(2, 8, 10));
      await s.expectLog([...entriesOf(1, 6, 8), ...entriesOf(2, 8, 10)], {
        lastPurgedLogId: { term: 1, index: 5 },
        lastLogId: { term: 2, index: 9 },
      });
    }),
    c('getKeyLogIds of one term is its last id', async (s) => {
      await s.appendFlushed(entriesOf(2, 0, 10));
      expect(await s.store.reader().getKeyLogIds({ term: 2, index: 0 }, { term: 2, index: 9 })).toEqual([
        { term: 2, index: 9 },
      ]);
    }),
    c('getKeyLogIds lists the last id of every term', async (s) => {
      await s.appendFlushed([...entriesOf(1, 0, 3), ...entriesOf(2, 3, 4), ...entriesOf(4, 4, 9)]);
      await s.appendFlushed(entriesOf(7, 9, 12));
      expect(await s.store.reader().getKeyLogIds({ term: 1, index: 0 }, { term: 7, index: 11 })).toEqual([
        { term: 1, index: 2 },
        { term: 2, index: 3 },
        { term: 4, index: 8 },
        { term: 7, index: 11 },
      ]);
    }),
    c('getKeyLogIds of a sub-range ends with `last`', async (s) => {
      await s.appendFlushed([...entriesOf(1, 0, 3), ...entriesOf(2, 3, 6), ...entriesOf(3, 6, 9)]);
      expect(await s.store.reader().getKeyLogIds({ term: 1, index: 1 }, { term: 3, index: 7 })).toEqual([
        { term: 1, index: 2 },
        { term: 2, index: 5 },
        { term: 3, index: 7 },
      ]);
      expect(await s.store.reader().getKeyLogIds({ term: 2, index: 4 }, { term: 2, index: 4 })).toEqual([
        { term: 2, index: 4 },
      ]);
    }),
    c('getKeyLogIds after a purge starts at the first kept entry', async (s) => {
      await s.appendFlushed([...entriesOf(1, 0, 4), ...entriesOf(2, 4, 8)]);
      await s.store.purge({ term: 1, index: 1 });
      expect(await s.store.reader().getKeyLogIds({ term: 1, index: 2 }, { term: 2, index: 7 })).toEqual([
        { term: 1, index: 3 },
        { term: 2, index: 7 },
      ]);
    }),
  ];
}
