import type { Entry } from './entry.ts';
import type { LogId } from './log-id.ts';
import type { NodeId } from './node.ts';
import type { SnapshotMeta } from './snapshot.ts';
import type { Vote } from './vote.ts';

/** A candidate's request for a vote (Raft §5.2), or a pre-vote probe. */
export interface VoteRequest {
  /** The vote the candidate asks for: its term and its own id, uncommitted. */
  vote: Vote;
  /** The candidate's last log id; a voter refuses a candidate whose log is behind its own (§5.4.1). */
  lastLogId: LogId | null;
  /**
   * A pre-vote asks "would you vote for me at this term?": the receiver answers as it would for a
   * real vote but neither saves nor changes its own vote.
   */
  preVote?: boolean;
}

/** The answer to a `VoteRequest`. */
export interface VoteResponse {
  /** The voter's vote after handling the request (for a pre-vote, its unchanged vote). */
  vote: Vote;
  /** Whether the vote (or pre-vote) is granted. */
  voteGranted: boolean;
  /** The voter's last log id, so a candidate with a shorter log backs off. */
  lastLogId: LogId | null;
}

/** The leader's AppendEntries (Raft §5.3); without entries it is a heartbeat. */
export interface AppendEntriesRequest {
  /** The leader's committed vote. */
  vote: Vote;
  /** The id of the entry right before `entries` (`null`: they start at index 0). */
  prevLogId: LogId | null;
  /** Consecutive entries starting at `nextIndex(prevLogId)`. */
  entries: Entry[];
  /** The leader's committed log id. */
  leaderCommit: LogId | null;
}

/** The answer to an `AppendEntriesRequest`. */
export type AppendEntriesResponse =
  /** Every entry accepted; the follower's log matches up to the last entry (or `prevLogId`). */
  | { type: 'success' }
  /** Only a prefix accepted: the follower's log matches up to `matching`. */
  | { type: 'partialSuccess'; matching: LogId | null }
  /** The follower has no entry equal to `prevLogId`. */
  | { type: 'conflict' }
  /** The follower has seen a greater vote; the sender is no longer leader. */
  | { type: 'higherVote'; vote: Vote };

/** A reply on a `streamAppend` stream. One reply may acknowledge many requests. */
export type StreamAppendResult =
  /** Cumulative watermark: the follower's log matches the leader's up to `matching`. */
  | { type: 'matched'; matching: LogId | null }
  /** A request was rejected: the follower has no entry equal to its `prevLogId` (`logId`). Ends the stream. */
  | { type: 'conflict'; logId: LogId }
  /** The follower has seen a greater vote. Ends the stream. */
  | { type: 'higherVote'; vote: Vote };

/** A full snapshot transfer's header; its data travels beside it as a `SnapshotData` stream. */
export interface InstallSnapshotRequest {
  /** The leader's vote. */
  vote: Vote;
  /** What the snapshot covers. */
  meta: SnapshotMeta;
}

/** The answer to a snapshot transfer. */
export interface SnapshotResponse {
  /** The receiver's vote; greater than the sender's when the sender is deposed. */
  vote: Vote;
}

/** The leader asks `to` to take over leadership (it should elect itself at once, ignoring the lease). */
export interface TransferLeaderRequest {
  /** The current leader's vote. */
  from: Vote;
  /** The node that should become leader. */
  to: NodeId;
  /** The leader's last log id; the target should have caught up to it before it elects itself. */
  lastLogId: LogId | null;
}

/** Checks whether a value has the shape of an `AppendEntriesResponse`. */
export function isAppendEntriesResponse(value: unknown): value is AppendEntriesResponse {
  if (value === null || typeof value !== 'object') return false;
  const t = (value as { type?: unknown }).type;
  return t === 'success' || t === 'partialSuccess' || t === 'conflict' || t === 'higherVote';
}
