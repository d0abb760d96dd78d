/**
 * Per-kind subscriptions over a node's metrics (openraft's `watch_*_progress` and `on_leader_change`):
 * a caller names the one value it cares about and hears only when that value changes, instead of
 * diffing whole metrics objects.
 *
 * Owns: which metrics field each kind means and when two values of a kind are the same. Must never:
 * call a listener twice for one value, or call it for a change of another kind.
 */
import {
  InvalidRequestError,
  type LogId,
  logIdEquals,
  type NodeId,
  type RaftMetrics,
  type ServerState,
  type StoredMembership,
  type Vote,
  voteEquals,
} from '@flotilla/types';
import type { MetricsHub } from './metrics.ts';

/** The values `watch` follows, by kind. */
export interface WatchedValues {
  /** The last log id this node has appended (openraft's `watch_log_progress`): its index, `null` when empty. */
  log: number | null;
  /** The durable vote (openraft's `watch_vote_progress`). */
  vote: Vote;
  /** The last committed log id this node knows of (openraft's `watch_commit_progress`). */
  committed: LogId | null;
  /** The last applied log id (openraft's `watch_apply_progress`). */
  applied: LogId | null;
  /** The last log id covered by the current snapshot (openraft's `watch_snapshot_progress`). */
  snapshot: LogId | null;
  /** The effective membership and the log id it came from. */
  membership: StoredMembership;
  /** This node's role. */
  state: ServerState;
}

/** A kind of value `watch` can follow. */
export type WatchKind = keyof WatchedValues;

/** Called with a kind's new value and the one it replaced. */
export type WatchListener<K extends WatchKind> = (
  value: WatchedValues[K],
  previous: WatchedValues[K],
) => void;

/** A change of the leader this node knows of, for `onLeaderChange`. */
export interface LeaderChange {
  /** The leader now known (`null`: none known, e.g. during an election). */
  leader: NodeId | null;
  /** The leader known before. */
  previous: NodeId | null;
  /** The term the new value was seen in. */
  term: number;
}

const pick: { [K in WatchKind]: (m: RaftMetrics) => WatchedValues[K] } = {
  log: (m) => m.lastLogIndex,
  vote: (m) => m.vote,
  committed: (m) => m.committed,
  applied: (m) => m.lastApplied,
  snapshot: (m) => m.snapshot,
  membership: (m) => m.membership,
  state: (m) => m.state,
};

const same: { [K in WatchKind]: (a: WatchedValues[K], b: WatchedValues[K]) => boolean } = {
  log: (a, b) => a === b,
  vote: voteEquals,
  committed: logIdEquals,
  applied: logIdEquals,
  snapshot: logIdEquals,
  // One membership per log id (Raft §6); `null` is the empty initial membership.
  membership: (a, b) =>
    logIdEquals(a.logId, b.logId) && a.membership.configs.length === b.membership.configs.length,
  state: (a, b) => a === b,
};

/** The kinds `watch` accepts, for validation. */
export const WATCH_KINDS: readonly WatchKind[] = Object.freeze(Object.keys(pick) as WatchKind[]);

/**
 * Calls `listener(value, previous)` each time the `kind` value of `hub`'s metrics changes, from now
 * on (the current value is the first `previous`). Returns the unsubscribe function. A listener that
 * throws is reported like any metrics subscriber's error and does not stop later calls. An unknown
 * `kind` throws `InvalidRequestError` (code `INVALID_REQUEST`).
 */
export function watchMetric<K extends WatchKind>(
  hub: MetricsHub,
  kind: K,
  listener: WatchListener<K>,
): () => void {
  const get = pick[kind] as ((m: RaftMetrics) => WatchedValues[K]) | undefined;
  if (get === undefined) {
    throw new InvalidRequestError(
      'kind',
      `unknown metrics kind ${String(kind)}: one of ${WATCH_KINDS.join(', ')}`,
    );
  }
  const eq = same[kind] as (a: WatchedValues[K], b: WatchedValues[K]) => boolean;
  let last = get(hub.current);
  return hub.subscribe((m) => {
    const next = get(m);
    if (eq(next, last)) return;
    const previous = last;
    last = next;
    listener(next, previous);
  });
}

/**
 * Calls `listener` each time the leader this node knows of changes (openraft's
 * `on_cluster_leader_change`): becoming leader, losing it, or learning of another one. Returns the
 * unsubscribe function.
 */
export function onLeaderChange(hub: MetricsHub, listener: (change: LeaderChange) => void): () => void {
  let last = hub.current.currentLeader;
  return hub.subscribe((m) => {
    if (m.currentLeader === last) return;
    const previous = last;
    last = m.currentLeader;
    listener({ leader: m.currentLeader, previous, term: m.currentTerm });
  });
}
