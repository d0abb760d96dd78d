import { blankEntry, type Entry, type LogId, logIdEquals, nextIndex, normalEntry } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import type { ReplicationEvent } from '../src/events.ts';
import { rig } from './harness.ts';

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

/**
 * A minimal stand-in for the engine's progress (which lives in another package): binary search on
 * `[nextIndex(matching), searchingEnd)` with empty probes, then one `logsSince` pipeline.
 */
async function converge(followerTerms: number[], extra = 0) {
  const leaderLog = [...logOf(leaderTerms), blankEntry(8, leaderTerms.length)];
  for (let i = 0; i < extra; i++) leaderLog.push(normalEntry(8, leaderLog.length, new Uint8Array([i])));
  const r = rig({
    leaderLog,
    followerLog: logOf(followerTerms),
    net: { delayMs: 1 },
    config: { maxPayloadEntries: 3 },
  });
  let matching: LogId | null = null;
  let searchingEnd = leaderLog.length;
  let inflightId = 0;
  let probes = 0;
  const next = () => {
    inflightId += 1;
    const lo = nextIndex(matching);
    if (lo >= searchingEnd) {
      r.stream.replicate({ inflightId, payload: { type: 'logsSince', prev: matching } });
      return;
    }
    probes += 1;
    const mid = lo + Math.floor((searchingEnd - lo - 1) / 2);
    const prev = (leaderLog[mid] as Entry).logId;
    r.stream.replicate({ inflightId, payload: { type: 'logs', prev, last: prev } });
  };
  r.core.onEvent = (e: ReplicationEvent) => {
    if (e.type === 'progress' && e.inflightId === inflightId) {
      const wasProbe = nextIndex(matching) < searchingEnd;
      matching = e.matching;
      if (wasProbe) next();
    } else if (e.type === 'conflict' && e.inflightId === inflightId) {
      searchingEnd = e.logId.index;
      next();
    }
  };
  next();
  const last = (leaderLog[leaderLog.length - 1] as Entry).logId;
  const done = await r.clock.runUntil(() => logIdEquals(matching, last));
  r.stream.close();
  return { done, r, leaderLog, probes };
}

describe('binary search then pipeline (Raft §5.3, Figure 7)', () => {
  for (const [name, terms] of Object.entries(followers)) {
    it(`follower (${name}) ends with the leader's log`, async () => {
      const { done, r, leaderLog, probes } = await converge(terms, 7);
      expect(done).toBe(true);
      expect(r.follower.log).toEqual(leaderLog);
      expect(r.follower.gaps).toBe(0);
      // Binary search: O(log n) probes for 18 entries.
      expect(probes).toBeLessThanOrEqual(6);
      expect(r.core.ofType('transportError')).toHaveLength(0);
    });
  }
});
