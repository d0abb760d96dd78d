/**
 * Owns what a node reports about itself: its role (`ServerState`), the leader's view of each target
 * (`ReplicationMetrics`) and the whole `RaftMetrics` object. Plain data the runtime publishes on
 * every change: it must never carry methods or references to live state.
 */
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
  logReversion?: { matching: LogId | null; conflictIndex: number; repaired: boolean };
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
  /** The effective membership. */
  membership: StoredMembership;
  /** Per target, when leader; `null` otherwise. */
  replication: Record<NodeId, ReplicationMetrics> | null;
  /** Milliseconds since a quorum last acknowledged the leader, when leader. */
  millisSinceQuorumAck: number | null;
  /** The fatal error that stopped the node, if any. */
  error: { code: string; message: string } | null;
}
