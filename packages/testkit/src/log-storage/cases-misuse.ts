import { type Entry, ErrorCode, type LogState, nextIndex, sleep, systemClock } from '@flotilla/types';
import { expect } from 'vitest';
import type { ConformanceCase } from '../case.ts';
import { entriesOf, entryAt, expectRejectCode, FlushProbe, seededRandom } from '../testing/fixtures.ts';
import { type LogStorageHarness, type StoreContext, withStore } from './harness.ts';

/**
 * Misuse that must be refused with `StorageMisuseError`, and a randomized model check (appends,
 * truncates, purges within and beyond the log).
 */
export function misuseCases(harness: LogStorageHarness): ConformanceCase[] {
  const c = (name: string, run: Parameters<typeof withStore>[1]): ConformanceCase => ({
    name,
    run: () => withStore(harness, run),
  });
  /** Checks that appending `bad` is refused, changes nothing and never flushes. */
  const refusedAppend = async (s: StoreContext, bad: Entry[], what: string): Promise<void> => {
    const before = await s.state();
    const entries = await s.read(0, 1_000);
    const p = new FlushProbe();
    await expectRejectCode(s.store.append(bad, p.onFlushed), ErrorCode.StorageMisuse, what);
    await sleep(systemClock, 20);
    expect(p.calls, `${what}: flush callback of a refused append`).toBe(0);
    await s.expectLog(entries, before);
  };
  return [
    c('an append leaving a hole is refused', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 3));
      await refusedAppend(s, entriesOf(1, 4, 6), 'append at 4 after 2');
    }),
    c('a first append not starting at index 0 is refused', async (s) => {
      await refusedAppend(s, entriesOf(1, 1, 3), 'append at 1 to an empty log');
    }),
    c('an append overlapping existing entries is refused', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 5));
      await refusedAppend(s, entriesOf(2, 3, 7), 'append at 3 after 4');
    }),
    c('an append of non-consecutive entries is refused', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 2));
      await refusedAppend(s, [entryAt(1, 2), entryAt(1, 4)], 'append of 2 and 4');
      await refusedAppend(s, [entryAt(1, 2), entryAt(1, 2)], 'append of 2 twice');
    }),
    c('an append leaving a hole after a purge is refused', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 5));
      await s.store.purge({ term: 1, index: 4 });
      await refusedAppend(s, entriesOf(1, 6, 7), 'append at 6 after purge of 4');
      await refusedAppend(s, entriesOf(1, 4, 6), 'append at purged 4');
    }),
    c('a truncate beyond the end is refused', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 5));
      await expectRejectCode(s.store.truncate({ term: 1, index: 9 }), ErrorCode.StorageMisuse, 'truncate(9)');
      await s.expectLog(entriesOf(1, 0, 5), { lastPurgedLogId: null, lastLogId: { term: 1, index: 4 } });
    }),
    c('a truncate of purged entries is refused', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 6));
      await s.store.purge({ term: 1, index: 3 });
      await expectRejectCode(s.store.truncate({ term: 1, index: 2 }), ErrorCode.StorageMisuse, 'truncate(2)');
      await s.expectLog(entriesOf(1, 4, 6), {
        lastPurgedLogId: { term: 1, index: 3 },
        lastLogId: { term: 1, index: 5 },
      });
    }),
    c('a random sequence of writes matches a model log', async (s) => {
      const rnd = seededRandom(0x10c);
      let log: Entry[] = [];
      let purged: Entry['logId'] | null = null;
      let term = 1;
      let purgesBeyondEnd = 0;
      const expected = (): LogState => ({
        lastPurgedLogId: purged,
        lastLogId: log[log.length - 1]?.logId ?? purged,
      });
      for (let step = 0; step < 120; step++) {
        const r = rnd();
        const first: number = log[0]?.logId.index ?? nextIndex(purged);
        const next = nextIndex(expected().lastLogId);
        if (r < 0.55 || (log.length === 0 && r < 0.93)) {
          if (rnd() < 0.2) term++;
          const n = 1 + Math.floor(rnd() * 5);
          const es = entriesOf(term, next, next + n);
          if (rnd() < 0.3) await s.appendFlushed(es);
          else await s.store.append(es, () => {});
          log = [...log, ...es];
        } else if (r < 0.75) {
          const at: number = first + Math.floor(rnd() * log.length);
          await s.store.truncate(log[at - first]!.logId);
          log = log.slice(0, at - first);
        } else if (r < 0.93) {
          const at: number = first + Math.floor(rnd() * log.length);
          await s.store.purge(log[at - first]!.logId);
          purged = log[at - first]!.logId;
          log = log.slice(at - first + 1);
        } else {
          // Beyond the last entry, as a snapshot install past the log does.
          if (rnd() < 0.5) term++;
          purged = { term, index: next + Math.floor(rnd() * 4) };
          await s.store.purge(purged);
          log = [];
          purgesBeyondEnd++;
        }
        expect(await s.state(), `log state after step ${step}`).toEqual(expected());
        const lo = Math.max(0, first - 2);
        expect(await s.read(lo, next + 10), `entries after step ${step}`).toEqual(log);
      }
      expect(purgesBeyondEnd, 'the sequence purges beyond the end').toBeGreaterThan(2);
      await s.appendFlushed([entryAt(term, nextIndex(expected().lastLogId))]);
      expect(await s.state(), 'log state after the final flush').toEqual({
        lastPurgedLogId: purged,
        lastLogId: { term, index: nextIndex(log[log.length - 1]?.logId ?? purged) },
      });
    }),
  ];
}
