/**
 * The types a replication stream is driven with: the I/O positions it watches, the commands it
 * runs, its options, state and counters.
 *
 * Owns: these shapes and their documentation. Must never: hold behaviour.
 */
import type { Clock, Logger, LogId, NodeId, RaftLogReader, RaftNetwork, Vote } from '@flotilla/types';
import type { ReplicationConfig } from './config.ts';
import type { ReplicationCore } from './events.ts';
import type { SnapshotSource } from './snapshot.ts';
import type { ReadonlyWatch } from './watch.ts';

/**
 * An I/O position of the leader's node: the vote under which I/O was issued and the last log id it
 * covers. Published by the runtime as `ioAccepted` (set just before a vote or log write is handed
 * to storage) and `ioSubmitted` (set once appended entries are readable).
 */
export interface IoPosition {
  /** The vote the I/O was issued under. */
  vote: Vote;
  /** The last log id the I/O covers. */
  logId: LogId | null;
}

/**
 * The former name of {@link IoPosition} (it read like the engine's numeric `ioId`).
 * @deprecated Use `IoPosition`.
 */
export type IoId = IoPosition;

/** What a `replicate` command asks the stream to send. */
export type ReplicatePayload =
  /**
   * Exactly the entries `(prev, last]`, as one AppendEntries sent whole (a probe when
   * `last === prev`). Answered by one `progress`, `conflict`, `higherVote` or `transportError`.
   */
  | { type: 'logs'; prev: LogId | null; last: LogId | null }
  /**
   * Pipeline mode: every entry after `prev`, and on, as they become readable (`ioSubmitted`) or as
   * the commit index moves (`committed`), without waiting for replies. Runs until a conflict, a
   * higher vote, a transport error, a leader change or the next `replicate`/`close`.
   */
  | { type: 'logsSince'; prev: LogId | null }
  /** The current snapshot (from the stream's `SnapshotSource`). */
  | { type: 'snapshot' };

/** A `replicate` command: the engine's inflight id and what to send. */
export interface ReplicateRequest {
  /** The engine's id of this inflight; echoed in every event it causes. */
  inflightId: number;
  /** What to send. */
  payload: ReplicatePayload;
}

/** Everything a {@link ReplicationStream} needs. */
export interface ReplicationStreamOptions {
  /** The follower or learner this stream replicates to. */
  target: NodeId;
  /** This stream's id, unique per node; echoed in every event. */
  streamId: number;
  /** The leader's committed vote, sent in every request. */
  leaderVote: Vote;
  /** The client of `target` used for entries and snapshots. */
  network: RaftNetwork;
  /** A reader of the leader's log, owned by this stream. */
  reader: RaftLogReader;
  /** I/O accepted by the leader's node; when its vote is not `leaderVote`, the stream stops. */
  ioAccepted: ReadonlyWatch<IoPosition>;
  /** I/O submitted to storage: entries up to `logId` are readable. */
  ioSubmitted: ReadonlyWatch<IoPosition>;
  /** The leader's committed log id. */
  committed: ReadonlyWatch<LogId | null>;
  /** Receives the stream's events. */
  core: ReplicationCore;
  /** Limits and timeouts (see `resolveReplicationConfig`). */
  config: ReplicationConfig;
  /** The clock for `sentAt`, back-off and deadlines (default: `systemClock`). */
  clock?: Clock;
  /** Diagnostics (default: silent). */
  logger?: Logger;
  /** Where snapshots come from; required to serve `{type: 'snapshot'}`. */
  snapshots?: SnapshotSource;
  /**
   * Whether to use `network.streamAppend` (default: when the network has it). Without it the
   * pipeline runs over {@link sequentialStreamAppend}.
   */
  useStreamAppend?: boolean;
}

/** Where a stream is in its life. */
export type ReplicationStreamState = 'idle' | 'running' | 'failed' | 'closed';

/** Counters of one stream, for metrics and tests. */
export interface ReplicationStreamStats {
  /** AppendEntries requests sent (unary and pipelined). */
  requestsSent: number;
  /** Entries sent. */
  entriesSent: number;
  /** Calls made to the log reader. */
  logReads: number;
  /** The most unacknowledged pipelined requests observed at once. */
  maxInflightRequests: number;
}
