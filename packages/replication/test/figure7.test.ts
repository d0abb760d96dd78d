import { blankEntry, type Entry, normalEntry } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { converge } from './driver.ts';

/** A log with the given terms at indexes 0, 1, 2, … */
function logOf(terms: number[]): Entry[] {
  return terms.map((t, i) => normalEntry(t, i, new Uint8Array([t, i])));
}

// Raft §5.3, Figure 7 (indexes shifted to start at 0). The leader of term 8 has appended its blank entry.
const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
const followers: Record<string, number[]> = {
  a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
  b: [1, 1, 1, 4],
  c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
  d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
  e: [1, 1, 1, 4, 4, 4, 4],
  f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  empty: [],
};

async function converge7(followerTerms: number[], extra = 0) {
  const leaderLog = [...logOf(leaderTerms), blankEntry(8, leaderTerms.length)];
  for (let i = 0; i < extra; i++) leaderLog.push(normalEntry(8, leaderLog.length, new Uint8Array([i])));
  return { leaderLog, ...(await converge(leaderLog, logOf(followerTerms))) };
}

describe('binary search then pipeline (Raft §5.3, Figure 7)', () => {
  for (const [name, terms] of Object.entries(followers)) {
    it(`follower (${name}) ends with the leader's log`, async () => {
      const { done, r, leaderLog, probes } = await converge7(terms, 7);
      expect(done).toBe(true);
      expect(r.follower.log).toEqual(leaderLog);
      expect(r.follower.gaps).toBe(0);
      // Binary search: O(log n) probes for 18 entries.
      expect(probes).toBeLessThanOrEqual(6);
      expect(r.core.ofType('transportError')).toHaveLength(0);
    });
  }
});
