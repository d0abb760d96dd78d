/**
 * Owns what a node reports about itself: its role (`ServerState`), the leader's view of each target
 * (`ReplicationMetrics`) and the whole `RaftMetrics` object. Plain data the runtime publishes on
 * every change: it must never carry methods or references to live state.
 */
import type { ErrorCode } from './errors.ts';
import type { LogId } from './log-id.ts';
import type { StoredMembership } from './membership.ts';
import type { NodeId } from './node.ts';
import type { Vote } from './vote.ts';

/** A node's role. `Learner` is a follower outside every voter config. */
export type ServerState = 'Leader' | 'Candidate' | 'Follower' | 'Learner' | 'Shutdown';

/** How the leader replicates to a target right now. */
export type ReplicationMode =
  /** Binary search for the match point. */
  | 'probing'
  /** Streaming with `streamAppend` (or its sequential fallback). */
  | 'pipeline'
  /** Sending a snapshot. */
  | 'snapshot'
  /** Nothing in flight. */
  | 'idle';

/** The leader's view of one target. */
export interface ReplicationMetrics {
  /** The last log id known to match on the target. */
  matching: LogId | null;
  /** What is being sent. */
  mode: ReplicationMode;
  /**
   * The latest log reversion this leader detected on the target (its log went back behind what it
   * had acknowledged: restored from an old backup, or a wiped store), if any. `repaired: true` when
   * `allowLogReversion` let the leader repair it; `false` when the leader refused and sends the
   * target nothing more.
   */
  logReversion?: {
    matching: LogId | null;
    conflictIndex: number;
    repaired: boolean;
    /** When refused: the `LogReversionError` as plain data (code `LOG_REVERSION`); `null` when repaired. */
    error: { code: typeof ErrorCode.LogReversion; message: string } | null;
  };
}

/** What a leader reports about one target: its {@link ReplicationMetrics} and when it last heard back. */
export interface ReplicationTargetMetrics extends ReplicationMetrics {
  /**
   * When the target last acknowledged this leader, in the node's `Clock.now()` milliseconds (the
   * clock given to `Raft.create`, `performance.now()` by default: compare it with that clock, never
   * with `Date.now()`). As openraft's heartbeat metrics (`last_ack`), it is the **send time** of the
   * latest heartbeat, append or snapshot the target accepted, so an ack proves the target followed
   * this leader at that time at least. It only moves forward; `null` until the target's first
   * acknowledgement under this leadership.
   */
  lastAcked: number | null;
}

/** What a node reports about itself: a plain object, published on every change. */
export interface RaftMetrics {
  /** This node. */
  id: NodeId;
  /** Its role. */
  state: ServerState;
  /** Its current term. */
  currentTerm: number;
  /** Its durable vote. */
  vote: Vote;
  /** Index of its last log entry (`null`: empty log). */
  lastLogIndex: number | null;
  /** The last committed log id it knows of. */
  committed: LogId | null;
  /** The last applied log id. */
  lastApplied: LogId | null;
  /** The last log id covered by its current snapshot. */
  snapshot: LogId | null;
  /** The last purged log id. */
  purged: LogId | null;
  /** The leader it knows of. */
  currentLeader: NodeId | null;
  /**
   * The effective membership: the last membership entry in the log, in force from when it is
   * appended (Raft §6), committed or not.
   */
  membership: StoredMembership;
  /**
   * The last committed membership. Equal to `membership` except while a change is in flight (a
   * joint config, or a learner added, not yet committed); openraft's `membership_config` pair.
   */
  committedMembership: StoredMembership;
  /** Per target, when leader; `null` otherwise. */
  replication: Record<NodeId, ReplicationTargetMetrics> | null;
  /**
   * When a quorum last acknowledged this leader, in the node's `Clock.now()` milliseconds (as
   * {@link ReplicationTargetMetrics.lastAcked}, the send time of the requests acknowledged; openraft's
   * `last_quorum_acked`). The same instant the lease is counted from. `null` when not leader, before
   * the leader committed an entry of its term, and during a leadership transfer (no lease then).
   */
  lastQuorumAcked: number | null;
  /**
   * Milliseconds between `lastQuorumAcked` and when these metrics were computed, rounded; `null`
   * exactly when `lastQuorumAcked` is.
   */
  millisSinceQuorumAck: number | null;
  /** The fatal error that stopped the node, if any. */
  error: { code: string; message: string } | null;
}
