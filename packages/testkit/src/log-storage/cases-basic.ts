import { expect } from 'vitest';
import type { ConformanceCase } from '../case.ts';
import { entriesOf, entryAt, leaderVote, sampleMembership } from '../testing/fixtures.ts';
import { type LogStorageHarness, withStore } from './harness.ts';

/** Initial state, votes, committed id, append and read cases. */
export function basicCases(harness: LogStorageHarness): ConformanceCase[] {
  const c = (name: string, run: Parameters<typeof withStore>[1]): ConformanceCase => ({
    name,
    run: () => withStore(harness, run),
  });
  return [
    c('a new store has an empty log state', async (s) => {
      expect(await s.state()).toEqual({ lastPurgedLogId: null, lastLogId: null });
    }),
    c('a new store has no vote', async (s) => {
      expect(await s.store.readVote()).toBeNull();
    }),
    c('a new store reads no entries', async (s) => {
      expect(await s.read(0, 100)).toEqual([]);
      expect(await s.store.reader().limitedGetLogEntries(0, 100)).toEqual([]);
    }),
    c('saveVote then readVote returns the vote, after a re-open too', async (s) => {
      const v = { term: 3, nodeId: 'n2', committed: false };
      await s.store.saveVote(v);
      expect(await s.store.readVote()).toEqual(v);
      await s.durable();
      expect(await s.store.readVote()).toEqual(v);
    }),
    c('the last saved vote wins', async (s) => {
      await s.store.saveVote({ term: 1, nodeId: 'n1', committed: false });
      await s.store.saveVote({ term: 1, nodeId: 'n1', committed: true });
      await s.durable();
      expect(await s.store.readVote()).toEqual({ term: 1, nodeId: 'n1', committed: true });
      await s.store.saveVote({ term: 2, nodeId: null, committed: false });
      await s.durable();
      expect(await s.store.readVote()).toEqual({ term: 2, nodeId: null, committed: false });
    }),
    c('log writes leave the vote alone', async (s) => {
      const v = leaderVote(4, 'n3');
      await s.store.saveVote(v);
      await s.appendFlushed(entriesOf(4, 0, 5));
      await s.store.truncate({ term: 4, index: 3 });
      await s.store.purge({ term: 4, index: 1 });
      await s.appendFlushed([entryAt(4, 3)]);
      expect(await s.store.readVote()).toEqual(v);
    }),
    c('saveCommitted and readCommitted come together and round-trip', async (s) => {
      const st = s.store;
      expect(typeof st.saveCommitted, 'saveCommitted and readCommitted are both present or both absent').toBe(
        typeof st.readCommitted,
      );
      if (st.saveCommitted === undefined || st.readCommitted === undefined) return;
      expect(await st.readCommitted()).toBeNull();
      await s.appendFlushed(entriesOf(1, 0, 3));
      await s.store.saveCommitted?.({ term: 1, index: 2 });
      // A flush after saveCommitted makes it durable (writes are ordered).
      await s.appendFlushed([entryAt(1, 3)]);
      expect(await s.store.readCommitted?.()).toEqual({ term: 1, index: 2 });
    }),
    c('append then read returns exactly the entries', async (s) => {
      const es = entriesOf(1, 0, 10);
      await s.appendFlushed(es);
      await s.expectLog(es, { lastPurgedLogId: null, lastLogId: { term: 1, index: 9 } });
    }),
    c('entries are readable as soon as append resolves', async (s) => {
      const reader = s.store.reader();
      const es = entriesOf(1, 0, 4);
      await s.store.append(es, () => {});
      expect(await reader.tryGetLogEntries(0, 4)).toEqual(es);
      expect((await s.state()).lastLogId).toEqual({ term: 1, index: 3 });
    }),
    c('a reader made before an append sees the new entries', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 2));
      const reader = s.store.reader();
      const later = entriesOf(2, 2, 5);
      await s.store.append(later, () => {});
      expect(await reader.tryGetLogEntries(2, 5)).toEqual(later);
    }),
    c('successive appends accumulate', async (s) => {
      const a = entriesOf(1, 0, 3);
      const b = entriesOf(1, 3, 6);
      const d = entriesOf(2, 6, 8);
      await s.appendFlushed(a);
      await s.appendFlushed(b);
      await s.appendFlushed(d);
      await s.expectLog([...a, ...b, ...d], { lastPurgedLogId: null, lastLogId: { term: 2, index: 7 } });
    }),
    c('tryGetLogEntries returns sub-ranges and only what exists', async (s) => {
      const es = entriesOf(1, 0, 10);
      await s.appendFlushed(es);
      expect(await s.read(3, 6)).toEqual(es.slice(3, 6));
      expect(await s.read(8, 20)).toEqual(es.slice(8));
      expect(await s.read(10, 20)).toEqual([]);
      expect(await s.read(5, 5)).toEqual([]);
      expect(await s.read(6, 3)).toEqual([]);
    }),
    c('limitedGetLogEntries returns a non-empty prefix of the range', async (s) => {
      const es = entriesOf(1, 0, 50);
      await s.appendFlushed(es);
      for (const [a, b] of [
        [0, 50],
        [10, 11],
        [20, 45],
        [49, 80],
      ] as const) {
        const got = await s.store.reader().limitedGetLogEntries(a, b);
        expect(got.length, `limitedGetLogEntries(${a}, ${b}) length`).toBeGreaterThan(0);
        expect(got).toEqual(es.slice(a, a + got.length));
      }
    }),
    c('limitedGetLogEntries over a large range makes progress to the end', async (s) => {
      const es = entriesOf(1, 0, 1_000);
      await s.appendFlushed(es);
      const got = [];
      let at = 0;
      while (at < 1_000) {
        const part = await s.store.reader().limitedGetLogEntries(at, 1_000);
        expect(part.length, `prefix at ${at}`).toBeGreaterThan(0);
        got.push(...part);
        at += part.length;
      }
      expect(got).toEqual(es);
    }),
    c('every payload type round-trips', async (s) => {
      const es = [
        { logId: { term: 1, index: 0 }, payload: { type: 'blank' as const } },
        {
          logId: { term: 1, index: 1 },
          payload: { type: 'membership' as const, membership: sampleMembership() },
        },
        { logId: { term: 1, index: 2 }, payload: { type: 'normal' as const, data: new Uint8Array(0) } },
        entryAt(1, 3, 256 * 1024),
        {
          logId: { term: 2, index: 4 },
          payload: {
            type: 'membership' as const,
            membership: {
              configs: [
                ['a', 'b', 'c'],
                ['c', 'd', 'e'],
              ],
              nodes: {
                a: { addr: 'a:1' },
                b: { addr: 'b:1' },
                c: { addr: 'c:1', data: { zone: 'eu', weight: 2 } },
                d: { addr: 'd:1' },
                e: { addr: 'e:1' },
                l: { addr: 'l:1' },
              },
            },
          },
        },
      ];
      await s.appendFlushed(es);
      expect(await s.read(0, 10)).toEqual(es);
    }),
    c('changing the input array after append does not change the log', async (s) => {
      const es = entriesOf(1, 0, 3);
      const copy = entriesOf(1, 0, 3);
      await s.store.append(es, () => {});
      es.length = 0;
      expect(await s.read(0, 10)).toEqual(copy);
    }),
    c('an empty append changes nothing and flushes once', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 2));
      await s.appendFlushed([]);
      await s.expectLog(entriesOf(1, 0, 2), { lastPurgedLogId: null, lastLogId: { term: 1, index: 1 } });
    }),
    c('readers obtained separately see the same entries', async (s) => {
      const r1 = s.store.reader();
      const r2 = s.store.reader();
      const es = entriesOf(3, 0, 6);
      await s.appendFlushed(es);
      const [a, b] = await Promise.all([s.store.reader().tryGetLogEntries(0, 6), s.read(0, 6)]);
      expect(a).toEqual(es);
      expect(b).toEqual(es);
      if (s.reopens === 0) {
        expect(await r1.tryGetLogEntries(0, 6)).toEqual(es);
        expect(await r2.tryGetLogEntries(0, 6)).toEqual(es);
      }
    }),
  ];
}
