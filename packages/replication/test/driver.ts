import { type Entry, type LogId, logIdEquals, nextIndex } from '@flotilla/types';
import type { ReplicationConfigInput } from '../src/config.ts';
import type { ReplicationEvent } from '../src/events.ts';
import type { FakeNetworkOptions } from '../src/testing/index.ts';
import { type Rig, rig } from './harness.ts';

/**
 * A minimal stand-in for the engine's progress (which lives in another package): binary search on
 * `[nextIndex(matching), searchingEnd)` with empty probes, then a `logsSince` pipeline; a conflict
 * moves `searchingEnd` down and searches again. Runs until the follower's matching reaches the
 * leader's last log id.
 */
export async function converge(
  leaderLog: Entry[],
  followerLog: Entry[],
  opts: { net?: FakeNetworkOptions; config?: ReplicationConfigInput; setup?: (r: Rig) => void } = {},
): Promise<{ done: boolean; r: Rig; probes: number }> {
  const r = rig({
    leaderLog,
    followerLog,
    net: opts.net ?? { delayMs: 1 },
    config: opts.config ?? { maxPayloadEntries: 3 },
  });
  opts.setup?.(r);
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
      // A pipeline may have matched past the new end before a later request conflicted.
      if (nextIndex(matching) > searchingEnd) searchingEnd = nextIndex(matching);
      next();
    } else if (e.type === 'transportError' && e.inflightId === inflightId) {
      next();
    }
  };
  next();
  const last = leaderLog[leaderLog.length - 1]?.logId ?? null;
  const done = await r.clock.runUntil(() => logIdEquals(matching, last) && last !== null);
  r.stream.close();
  return { done, r, probes };
}
