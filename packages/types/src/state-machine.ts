/**
 * Owns the application's side of the contract: `RaftStateMachine` (apply committed entries in order,
 * build and install snapshots, spool a received one) and what it reports (`AppliedState`). An
 * interface only: it must never assume a storage format, nor a codec beyond the decoded `D`.
 */
import type { ApplyEntry } from './entry.ts';
import type { LogId } from './log-id.ts';
import type { StoredMembership } from './membership.ts';
import type { Snapshot, SnapshotData, SnapshotMeta, SnapshotSink } from './snapshot.ts';

/** What a state machine has applied. */
export interface AppliedState {
  /** The last applied entry (`null`: none). */
  lastApplied: LogId | null;
  /** The last membership applied (membership entries are applied like any other). */
  lastMembership: StoredMembership;
}

/** Builds a snapshot of the state as of some applied entry, without blocking `apply`. */
export interface RaftSnapshotBuilder {
  /** Builds and keeps the snapshot (it becomes `getCurrentSnapshot()`), and returns it. */
  buildSnapshot(): Promise<Snapshot>;
}

/**
 * The application's replicated state machine. The runtime applies committed entries in log order,
 * exactly once per incarnation (after a restart it re-applies from the snapshot, or from the start).
 * `D` is the decoded application data, `R` the response to a client.
 */
export interface RaftStateMachine<D, R> {
  /** The last applied entry and membership. */
  appliedState(): Promise<AppliedState>;
  /**
   * Applies consecutive committed entries, in order, and returns one response per entry. Responses to
   * blank and membership entries are not delivered to anyone and may be `undefined`.
   */
  apply(entries: readonly ApplyEntry<D>[]): Promise<(R | undefined)[]>;
  /**
   * A builder for a snapshot of the current state. The runtime calls it between two `apply` calls, then
   * runs `buildSnapshot()` concurrently with later applies: the builder must capture the state first.
   */
  snapshotBuilder(): RaftSnapshotBuilder;
  /**
   * Replaces the whole state with a received snapshot. Must be atomic: if reading `data` fails, the state
   * is unchanged. Afterwards `appliedState()` reports `meta.lastLogId` and `meta.lastMembership`.
   */
  installSnapshot(meta: SnapshotMeta, data: SnapshotData): Promise<void>;
  /**
   * Optional: where to spool a snapshot `meta` received from the leader while it arrives. Without
   * it the runtime holds the received chunks in memory until the install. A rejection fails the
   * transfer (the leader retries later); the node keeps running. A retried transfer may begin
   * while an earlier one of the same snapshot still runs: each call needs its own spool.
   */
  beginReceivingSnapshot?(meta: SnapshotMeta): Promise<SnapshotSink>;
  /** The newest built or installed snapshot with a fresh data stream, or `null`. */
  getCurrentSnapshot(): Promise<Snapshot | null>;
}
