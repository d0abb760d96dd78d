import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InflightIdGen } from '../src/inflight.ts';
import { ProgressEntry, SEARCH_GRANULARITY } from '../src/progress-entry.ts';
import { FollowerModel } from './follower.ts';
import { TestLog } from './test-log.ts';

/**
 * A leader log of `n` entries and a follower that shares its first `t + 1` entries then holds
 * `extra` entries of terms the leader never had at those indexes (a diverged tail).
 */
const scenario = fc
  .record({
    n: fc.integer({ min: 0, max: 5000 }),
    tFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    extra: fc.integer({ min: 0, max: 3000 }),
    maxEntries: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 10_000 })),
    termEvery: fc.integer({ min: 1, max: 500 }),
    purgeFrac: fc.option(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(1)), {
      nil: undefined,
    }),
  })
  .map((s) => {
    const t = Math.min(s.n - 1, Math.floor(s.tFrac * s.n) - 1); // -1 ..= n-1
    const purgedIndex = s.purgeFrac === undefined || s.n === 0 ? -1 : Math.floor(s.purgeFrac * (s.n - 1));
    return { ...s, t, purgedIndex };
  });

describe('binary search convergence', () => {
  it('finds the true match point of a random follower in O(log n) probes', () => {
    fc.assert(
      fc.property(scenario, ({ n, t, extra, maxEntries, termEvery, purgedIndex }) => {
        // Leader terms grow every `termEvery` entries, from 2; the follower's diverged tail has term 1
        // at indexes where the leader has a greater term.
        const leaderTerms = Array.from({ length: n }, (_, i) => 2 + Math.floor(i / termEvery));
        const leader = new TestLog(leaderTerms, purgedIndex);
        const follower = new FollowerModel([
          ...leaderTerms.slice(0, t + 1),
          ...Array.from({ length: extra }, () => 1),
        ]);
        expect(follower.matchPoint(leader)).toBe(t);

        const ids = new InflightIdGen();
        const p = ProgressEntry.forNewLeader(leader.last());
        let probes = 0;
        let snapshots = 0;
        for (let round = 0; round < 200; round++) {
          const s = p.nextSend(leader, maxEntries, ids);
          if (s === null) throw new Error('nothing sent while idle');
          if (s.type === 'logsSince') break;
          if (s.type === 'snapshot') {
            snapshots++;
            const snapLast = leader.purged();
            follower.installSnapshot(leader, snapLast);
            expect(p.updateSnapshotInstalled(snapLast, s.id)).toEqual({ type: 'updated' });
          } else if (s.type === 'logs') {
            probes++;
            if (follower.append(leader, s.prev, s.last)) p.updateMatching(s.last, s.id);
            else p.updateConflicting(s.prev?.index ?? 0, s.id);
          }
          p.checkInvariants();
          // Soundness: the true match point always lies in [matching, searchingEnd).
          const truth = follower.matchPoint(leader);
          expect(p.matching?.index ?? -1).toBeLessThanOrEqual(truth);
          expect(truth).toBeLessThan(p.searchingEnd);
        }
        // Converged: the stream starts exactly at the follower's match point.
        expect(p.inflight.type).toBe('logsSince');
        expect(p.matching?.index ?? -1).toBe(follower.matchPoint(leader));
        expect(p.matching?.index ?? -1).toBeGreaterThanOrEqual(Math.min(t, n - 1));
        // A snapshot only when the follower's match point was purged away, or when the whole log is
        // purged (an empty probe could not tell anything new).
        const wholeLogPurged = n > 0 && purgedIndex === n - 1;
        expect(snapshots).toBe(purgedIndex >= 0 && (t < purgedIndex || wholeLogPurged) ? 1 : 0);
        // O(log n): halving until the window is small, then ceil(granularity / maxEntries) appends.
        const bound = Math.ceil(Math.log2(n + 2)) + Math.ceil(SEARCH_GRANULARITY / maxEntries) + 1;
        expect(probes).toBeLessThanOrEqual(bound);
      }),
      { numRuns: 300 },
    );
  });
});
