/**
 * The engine's output contract (openraft's `command.rs`): the `Command` union, each variant saying
 * what the runtime must do and what it waits for, and the reports the runtime sends back
 * (`ReplicationResult`, `LocalIoEvent`). Types only: it must never hold logic, and must never ask the
 * runtime for anything a variant's TSDoc does not spell out.
 */
import type {
  AppendEntriesResponse,
  Entry,
  LogId,
  Node,
  NodeId,
  SnapshotMeta,
  SnapshotResponse,
  TransferLeaderRequest,
  Vote,
  VoteRequest,
  VoteResponse,
} from '@flotilla/types';

/**
 * What a postponed command waits for. The runtime runs commands in order and holds back a command
 * (and only that command; later ones may run) until its condition holds.
 */
export type Condition =
  /** Every storage write with an io id `<= ioId` is durable (reported through `onLocalIo('flushed')`). */
  | { type: 'ioFlushed'; ioId: number }
  /** The state machine has applied every entry up to `logId`. */
  | { type: 'applied'; logId: LogId }
  /** The state machine holds a snapshot covering at least `logId`. */
  | { type: 'snapshot'; logId: LogId | null };

/** What a replication stream must send to its target. */
export type ReplicatePayload =
  /** One AppendEntries with the entries in `(prev, last]`; `prev === last` is an empty probe. */
  | { type: 'logs'; prev: LogId | null; last: LogId | null }
  /** Pipeline mode: stream every entry after `prev`, now and as new entries become readable. */
  | { type: 'logsSince'; prev: LogId | null };

/** A reply the runtime must deliver to the caller that made the request. */
export type EngineResponse =
  | { type: 'vote'; response: VoteResponse }
  | { type: 'appendEntries'; response: AppendEntriesResponse }
  | { type: 'installSnapshot'; response: SnapshotResponse };

/** One replication target as the runtime needs it to open a stream. */
export interface ReplicationTarget {
  /** The target's id. */
  id: NodeId;
  /** Its address and data. */
  node: Node;
}

/**
 * A state-machine job. Runs on the state-machine worker, in order with applies.
 */
export type StateMachineCommand =
  /** Build a snapshot of the current state; report it with `Engine.onSnapshotBuilt(meta)`. */
  | { type: 'buildSnapshot' }
  /**
   * Install the snapshot received from the leader (its data is held by the runtime since
   * `handleInstallSnapshot`), replacing the state; report nothing (the engine already moved on).
   * The `purgeLog` that follows waits for it (see there).
   */
  | { type: 'installSnapshot'; meta: SnapshotMeta };

/**
 * Everything the engine asks its runtime to do. The runtime executes them in order; storage writes
 * (`saveVote`, `appendEntries`, `truncateLog`, `purgeLog`) are ordered and each has an io id that it
 * reports back through `Engine.onLocalIo({type: 'submitted' | 'flushed', ioId})`. The vote and last
 * log id each write leads to are `Engine.ioMark(ioId)`: what the runtime publishes as `ioAccepted`
 * (when it hands the write to storage) and `ioSubmitted` (once the write is readable).
 */
export type Command =
  /**
   * Persist `vote` (`RaftLogStorage.saveVote`). Publish `ioAccepted` with the vote before handing it
   * to storage (streams of an older leader stop). Report `flushed` for `ioId` once durable.
   */
  | { type: 'saveVote'; ioId: number; vote: Vote }
  /**
   * Append `entries` (consecutive, right after the current last entry) under `vote`. Publish
   * `ioAccepted`, call `append`; once readable report `submitted` (and publish `ioSubmitted` so
   * pipeline streams wake); once durable report `flushed`.
   */
  | { type: 'appendEntries'; ioId: number; vote: Vote; entries: Entry[] }
  /** Delete every entry with index `>= since` (`RaftLogStorage.truncate`). Report `flushed` for `ioId`. */
  | { type: 'truncateLog'; ioId: number; since: LogId }
  /**
   * Delete every entry up to `upto` inclusive (`RaftLogStorage.purge`); the engine guarantees no
   * stream may still read them. If a `stateMachine installSnapshot` command was issued before it and
   * has not finished, start the purge only once the state machine holds that snapshot: the purge
   * removes committed entries only the snapshot holds, and a crash between a durable purge and an
   * unfinished install leaves a node that `Engine.startup` refuses. Report `flushed` for `ioId`.
   */
  | { type: 'purgeLog'; ioId: number; upto: LogId }
  /**
   * `committed` is known committed: the one command that says `committed` moved (publish it to the
   * streams and heartbeats as the `committed` watch here), persist it if the store supports it
   * (`saveCommitted`) and hand
   * the entries in `(prevCommitted, committed]` to the state machine, in order. Report each applied
   * id with `Engine.onApplied(logId)`. The engine emits this as soon as `committed` is known, which
   * can be in the same batch as (right after) the `appendEntries` that writes those entries: on a
   * follower, the leader's commit index often covers entries of the very request that carries them.
   * The entries are therefore not guaranteed readable yet: the runtime must hand the range to the
   * state machine only once every storage write issued before this command is readable (e.g. by
   * chaining the apply behind the earlier writes). It must not wait for durability (`flushed`).
   */
  | { type: 'saveCommittedAndApply'; prevCommitted: LogId | null; committed: LogId }
  /**
   * Leader: send `payload` to `target` on its replication stream, tagged with `inflightId`; report
   * each outcome with `Engine.onReplicationProgress(target, {inflightId, result})`.
   */
  | { type: 'replicate'; target: NodeId; inflightId: number; payload: ReplicatePayload }
  /** Leader: send the current snapshot to `target`; report the outcome tagged with `inflightId`. */
  | { type: 'replicateSnapshot'; target: NodeId; inflightId: number }
  /**
   * Open a stream per target under `vote` (the leader's vote, or `null` when no longer leader) and close
   * streams of nodes not listed. With `closeOldStreams` every existing stream is closed first
   * (leadership changed); without it, surviving targets keep their stream and in-flight state
   * (membership change). Never await a hung RPC while closing.
   */
  | {
      type: 'rebuildReplicationStreams';
      vote: Vote | null;
      targets: ReplicationTarget[];
      closeOldStreams: boolean;
    }
  /**
   * Send a vote (or pre-vote) request to `target`; feed the reply to `Engine.handleVoteResponse`.
   * Failures are ignored (the election times out).
   */
  | { type: 'sendVote'; target: NodeId; request: VoteRequest }
  /**
   * Leader: send an empty AppendEntries (prevLogId = the target's matching, from its heartbeat
   * worker) to every target, stamped with `sentAt` for the lease; report acks with
   * `onReplicationProgress(target, {inflightId: null, result: {type: 'matched', matching, sentAt}})`
   * and refusals with `{type: 'conflict', prevLogId, sentAt}`, `prevLogId` being the refused
   * heartbeat's own (never a value rebuilt from earlier rounds).
   */
  | {
      type: 'broadcastHeartbeat';
      vote: Vote;
      committed: LogId | null;
      sentAt: number;
      targets: HeartbeatTarget[];
    }
  /**
   * Ask `target` to take over leadership (`RaftNetwork.transferLeader`). Fire and forget.
   */
  | { type: 'sendTransferLeader'; target: NodeId; request: TransferLeaderRequest }
  /**
   * Deliver `response` to the request identified by `reply` (the opaque token the runtime passed in),
   * once `when` holds (`null`: at once).
   */
  | { type: 'respond'; when: Condition | null; reply: unknown; response: EngineResponse }
  /** Run a state-machine job (see `StateMachineCommand`). */
  | { type: 'stateMachine'; command: StateMachineCommand };

/** One heartbeat destination: the target and the log id it is known to match. */
export interface HeartbeatTarget {
  /** The target. */
  id: NodeId;
  /** Its known match point, used as the heartbeat's `prevLogId`. */
  matching: LogId | null;
}

/** The outcome of one replication request (or heartbeat), reported by the runtime. */
export type ReplicationResult =
  /** The target matches the leader's log up to `matching`; `sentAt` is when the acked request was sent. */
  | { type: 'matched'; matching: LogId | null; sentAt: number }
  /** The target has no entry equal to `prevLogId` (the rejected request's prevLogId). */
  | { type: 'conflict'; prevLogId: LogId; sentAt: number }
  /** The target saw a greater vote: this leader is deposed. */
  | { type: 'higherVote'; vote: Vote }
  /** The target installed the snapshot whose last log id is `lastLogId`. */
  | { type: 'snapshotInstalled'; lastLogId: LogId | null; sentAt: number }
  /** The transport failed or the stream closed; the engine will send again. */
  | { type: 'failed' };

/** A local storage I/O progress report. */
export interface LocalIoEvent {
  /** `submitted`: readable through readers; `flushed`: durable (with every earlier write). */
  type: 'submitted' | 'flushed';
  /** The io id of the write command. */
  ioId: number;
}
