/**
 * @packageDocumentation
 * Per-follower Raft replication progress and quorum tracking, pure and without I/O:
 * {@link @flotilla/progress#ProgressEntry} runs the reversed binary search for a target's match point and then the
 * pipeline, with one {@link @flotilla/progress#Inflight} at a time identified by ids from an {@link @flotilla/progress#InflightIdGen};
 * {@link @flotilla/progress#majorityQuorum} / {@link @flotilla/progress#jointQuorum} describe who may decide; {@link @flotilla/progress#VecProgress} keeps
 * one value per node and the greatest value a quorum has accepted (commit index, lease time).
 *
 * @example
 * ```ts
 * import { InflightIdGen, ProgressEntry, logIdProgress, majorityQuorum } from '@flotilla/progress';
 *
 * const ids = new InflightIdGen();
 * const log = { purged: () => null, last: () => ({ term: 1, index: 9 }), logIdAt: (i: number) => ({ term: 1, index: i }) };
 * const p = ProgressEntry.forNewLeader(log.last());
 * const send = p.nextSend(log, 64, ids); // a probe: { type: 'logs', id: 1, prev: 1-4, last: 1-9 }
 * if (send?.type === 'logs') p.updateMatching(send.last, send.id); // the follower accepted it
 * p.nextSend(log, 64, ids); // converged: { type: 'logsSince', id: 2, prev: 1-9 }
 *
 * const commit = logIdProgress(majorityQuorum(['a', 'b', 'c']));
 * commit.update('a', { term: 1, index: 9 });
 * commit.update('b', { term: 1, index: 7 }); // true: a majority has 1-7
 * commit.quorumAccepted(); // { term: 1, index: 7 }
 * ```
 */
export { LOG_REVERSION, LogReversionError } from './errors.ts';
export {
  INFLIGHT_NONE,
  type Inflight,
  InflightIdGen,
  inflightId,
  STALE_REPLY,
  UPDATED,
  type UpdateResult,
} from './inflight.ts';
export type { LogIdView } from './log-id-view.ts';
export { ProgressEntry, type ProgressEntryOptions, SEARCH_GRANULARITY } from './progress-entry.ts';
export { jointQuorum, majorityQuorum, type QuorumSet, quorumOfMembership } from './quorum.ts';
export { logIdProgress, timestampProgress, VecProgress, type VecProgressOptions } from './vec-progress.ts';
