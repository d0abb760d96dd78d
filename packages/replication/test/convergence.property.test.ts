import { type Entry, normalEntry } from '@flotilla/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { converge } from './driver.ts';

/** A log whose terms are `terms` at indexes `from`, `from + 1`, … */
function logOf(terms: number[], from = 0, tag = 0): Entry[] {
  return terms.map((t, i) => normalEntry(t, from + i, new Uint8Array([tag, t, i & 0xff])));
}

/** Non-decreasing terms drawn from `choices`. */
const termsOf = (choices: number[], max: number) =>
  fc.array(fc.constantFrom(...choices), { maxLength: max }).map((ts) => ts.sort((a, b) => a - b));

describe('convergence under any divergence and network behaviour (property)', () => {
  it('always ends with the follower holding exactly the leader log, never a gap', async () => {
    await fc.assert(
      fc.asyncProperty(
        termsOf([2, 4, 6], 30), // the shared prefix and the leader's own suffix use even terms
        termsOf([2, 4, 6], 20),
        termsOf([3, 5, 7], 20), // the follower's divergent suffix uses terms the leader never had
        fc.record({
          delayMs: fc.integer({ min: 0, max: 5 }),
          streaming: fc.boolean(),
          coalesceAcks: fc.boolean(),
          maxPayloadEntries: fc.integer({ min: 1, max: 8 }),
          maxInflightRequests: fc.integer({ min: 1, max: 8 }),
          cuts: fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 4 }),
        }),
        async (prefix, leaderSuffix, followerSuffix, n) => {
          const top = Math.max(0, ...prefix);
          const shared = logOf(prefix);
          const leaderLog = [
            ...shared,
            ...logOf([...leaderSuffix.map((t) => Math.max(t, top)), 8], shared.length, 1),
          ];
          const followerLog = [
            ...shared,
            ...logOf(
              followerSuffix.map((t) => Math.max(t, top + 1)),
              shared.length,
              2,
            ),
          ];
          const { done, r } = await converge(leaderLog, followerLog, {
            net: { delayMs: n.delayMs, streaming: n.streaming, coalesceAcks: n.coalesceAcks },
            config: { maxPayloadEntries: n.maxPayloadEntries, maxInflightRequests: n.maxInflightRequests },
            setup: (rr) => {
              rr.net.cutRequest = (k) => n.cuts.includes(k);
            },
          });
          expect(done).toBe(true);
          expect(r.follower.log).toEqual(leaderLog);
          expect(r.follower.gaps).toBe(0);
          expect(r.core.ofType('fatal')).toHaveLength(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
