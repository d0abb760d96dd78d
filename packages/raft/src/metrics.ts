import type { Clock } from '@flotilla/types';
import {
  compareLogId,
  isVoter,
  type LogId,
  logIdEquals,
  type NodeId,
  type RaftMetrics,
  type ReplicationMetrics,
  type ServerState,
  StoppedError,
  type StoredMembership,
  TimeoutError,
  voterIds,
} from '@flotilla/types';

/** Receives every new metrics value. */
export type MetricsListener = (m: RaftMetrics) => void;

/**
 * The node's metrics: the current value and a subscription. Values are immutable snapshots; a new one
 * is published whenever something a user can see changes.
 */
export class MetricsHub {
  private value: RaftMetrics;
  private readonly listeners = new Set<MetricsListener>();
  private closed: Error | null = null;

  private readonly onListenerError: (err: unknown) => void;

  /**
   * @param initial - the first value.
   * @param onListenerError - told about an error a listener threw (the publisher, the core loop,
   *   never sees it; the other listeners are still called). Default: ignored.
   */
  constructor(initial: RaftMetrics, onListenerError: (err: unknown) => void = () => {}) {
    this.value = initial;
    this.onListenerError = onListenerError;
  }

  /** The current metrics. */
  get current(): RaftMetrics {
    return this.value;
  }

  /** Calls `listener` on every change from now on; returns the unsubscribe function. */
  subscribe(listener: MetricsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Publishes a new value when it differs from the current one. */
  publish(next: RaftMetrics): void {
    if (sameMetrics(this.value, next)) return;
    this.value = next;
    for (const l of [...this.listeners]) this.call(l, next);
  }

  private call(l: MetricsListener, m: RaftMetrics): void {
    try {
      l(m);
    } catch (err) {
      this.onListenerError(err);
    }
  }

  /** No further values: pending waits fail with `err` (a `StoppedError` by default). */
  close(err: Error = new StoppedError()): void {
    this.closed = err;
    const last = this.value;
    for (const l of [...this.listeners]) this.call(l, last);
    this.listeners.clear();
  }

  /** Why the hub closed, if it did. */
  get closedWith(): Error | null {
    return this.closed;
  }
}

/**
 * Field by field (this runs on every loop turn; serializing both values was the top CPU cost).
 *
 * Acknowledgement times count as changes: `lastQuorumAcked`, `millisSinceQuorumAck` and each
 * target's `lastAcked`. So a subscriber of a leader hears of every heartbeat round (as openraft's
 * `RaftMetrics` watch, which carries its heartbeat metrics too), and `wait().until(m => ...)` can
 * wait on them. This costs no extra publishes against comparing `millisSinceQuorumAck` alone, as
 * before: a heartbeat ack that moves a target's time moves the quorum time in the same turn, or the
 * clock moved on since the last publish anyway. A caller that wants less diffs a narrower view.
 */
function sameMetrics(a: RaftMetrics, b: RaftMetrics): boolean {
  return (
    a.id === b.id &&
    a.state === b.state &&
    a.currentTerm === b.currentTerm &&
    a.vote.term === b.vote.term &&
    a.vote.nodeId === b.vote.nodeId &&
    a.vote.committed === b.vote.committed &&
    a.lastLogIndex === b.lastLogIndex &&
    logIdEquals(a.committed, b.committed) &&
    logIdEquals(a.lastApplied, b.lastApplied) &&
    logIdEquals(a.snapshot, b.snapshot) &&
    logIdEquals(a.purged, b.purged) &&
    a.currentLeader === b.currentLeader &&
    sameStoredMembership(a.membership, b.membership) &&
    sameStoredMembership(a.committedMembership, b.committedMembership) &&
    sameReplication(a.replication, b.replication) &&
    a.lastQuorumAcked === b.lastQuorumAcked &&
    a.millisSinceQuorumAck === b.millisSinceQuorumAck &&
    a.error?.code === b.error?.code &&
    a.error?.message === b.error?.message
  );
}

/** One membership per log id (Raft §6); `null` is the empty initial membership. */
function sameStoredMembership(a: StoredMembership, b: StoredMembership): boolean {
  return logIdEquals(a.logId, b.logId) && a.membership.configs.length === b.membership.configs.length;
}

function sameReplication(a: RaftMetrics['replication'], b: RaftMetrics['replication']): boolean {
  if (a === null || b === null) return a === b;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => {
    const x = a[k];
    const y = b[k];
    return (
      x !== undefined &&
      y !== undefined &&
      x.mode === y.mode &&
      logIdEquals(x.matching, y.matching) &&
      x.lastAcked === y.lastAcked &&
      sameReversion(x.logReversion, y.logReversion)
    );
  });
}

function sameReversion(
  a: ReplicationMetrics['logReversion'],
  b: ReplicationMetrics['logReversion'],
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.conflictIndex === b.conflictIndex && a.repaired === b.repaired && logIdEquals(a.matching, b.matching)
  );
}

/**
 * Waits for the metrics to satisfy a predicate, within `timeoutMs`. Every method resolves with the
 * first metrics value that satisfies it (checking the current one first), or rejects with a
 * `TimeoutError` naming what it waited for, or with `StoppedError` if the node stops.
 *
 * @example
 * ```ts
 * await raft.wait({ timeoutMs: 2000 }).appliedIndex(10, 'all writes applied');
 * await raft.wait({ timeoutMs: 5000 }).state('Leader');
 * ```
 */
export class Wait {
  private readonly hub: MetricsHub;
  private readonly clock: Clock;
  private readonly timeoutMs: number;

  constructor(hub: MetricsHub, clock: Clock, timeoutMs: number) {
    this.hub = hub;
    this.clock = clock;
    this.timeoutMs = timeoutMs;
  }

  /** Until `pred(metrics)` holds. `what` names the condition in the timeout error. */
  until(pred: (m: RaftMetrics) => boolean, what = 'condition'): Promise<RaftMetrics> {
    const { hub, clock, timeoutMs } = this;
    return new Promise((resolve, reject) => {
      if (pred(hub.current)) {
        resolve(hub.current);
        return;
      }
      if (hub.closedWith) {
        reject(hub.closedWith);
        return;
      }
      const timer = clock.setTimeout(() => {
        unsubscribe();
        reject(new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const unsubscribe = hub.subscribe((m) => {
        // A predicate that throws rejects the wait; it must never throw into the publisher (the core loop).
        let ok: boolean;
        try {
          ok = pred(m);
        } catch (err) {
          clock.clearTimeout(timer);
          unsubscribe();
          reject(err);
          return;
        }
        if (ok) {
          clock.clearTimeout(timer);
          unsubscribe();
          resolve(m);
        } else if (hub.closedWith) {
          clock.clearTimeout(timer);
          unsubscribe();
          reject(hub.closedWith);
        }
      });
    });
  }

  /** Until the last applied index is at least `index`. */
  appliedIndex(index: number | null, what = `applied index >= ${index}`): Promise<RaftMetrics> {
    return this.until(
      (m) => index === null || (m.lastApplied !== null && m.lastApplied.index >= index),
      what,
    );
  }

  /** Until the node is in `state`. */
  state(state: ServerState, what = `state ${state}`): Promise<RaftMetrics> {
    return this.until((m) => m.state === state, what);
  }

  /** Until the node knows `leader` as its leader (`null`: no leader). */
  currentLeader(leader: NodeId | null, what = `leader ${leader}`): Promise<RaftMetrics> {
    return this.until((m) => m.currentLeader === leader, what);
  }

  /** Until the effective membership's voters are exactly `voters` (and, if given, `learners` are learners). */
  members(voters: Iterable<NodeId>, what = 'membership'): Promise<RaftMetrics> {
    const want = [...voters].sort();
    return this.until((m) => {
      const have = voterIds(m.membership.membership);
      return have.length === want.length && want.every((id) => isVoter(m.membership.membership, id));
    }, what);
  }

  /** Until the snapshot covers at least `logId`. */
  snapshot(logId: LogId, what = `snapshot >= ${logId.term}-${logId.index}`): Promise<RaftMetrics> {
    return this.until((m) => compareLogId(m.snapshot, logId) >= 0, what);
  }

  /** Until the log is purged up to at least `logId`. */
  purged(logId: LogId, what = `purged >= ${logId.term}-${logId.index}`): Promise<RaftMetrics> {
    return this.until((m) => compareLogId(m.purged, logId) >= 0, what);
  }

  /** Until the committed index is at least `index`. */
  committedIndex(index: number, what = `committed >= ${index}`): Promise<RaftMetrics> {
    return this.until((m) => m.committed !== null && m.committed.index >= index, what);
  }

  /** Until the last log index is at least `index`. */
  logIndex(index: number, what = `last log index >= ${index}`): Promise<RaftMetrics> {
    return this.until((m) => m.lastLogIndex !== null && m.lastLogIndex >= index, what);
  }

  /** Until the current term is at least `term`. */
  term(term: number, what = `term >= ${term}`): Promise<RaftMetrics> {
    return this.until((m) => m.currentTerm >= term, what);
  }
}
