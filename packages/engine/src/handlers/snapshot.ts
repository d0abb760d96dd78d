/**
 * Snapshot handler: the snapshot policy, planning and running log purges behind snapshots, and
 * installing a snapshot received from the leader (Raft §7). Owns `snapshot`, `buildingSnapshot` and
 * `pendingPurge`. Whether a replication stream may still read a range is the replication handler's
 * to say: the engine runs a pending purge (`purgeNow`) only once none may. Imports only `log.ts`.
 */
import { compareLogId, indexOf, type LogId, maxLogId, type SnapshotMeta } from '@flotilla/types';
import type { EngineCore } from '../core.ts';
import { adoptSnapshotLog, type LogSlice, purgeLog } from './log.ts';

/** The state the snapshot handler works on (`applied` and `committed` are only read). */
export type SnapshotSlice = LogSlice &
  Pick<EngineCore, 'snapshot' | 'buildingSnapshot' | 'pendingPurge' | 'whenDurable'> &
  Readonly<Pick<EngineCore, 'applied' | 'config'>>;

/** Starts a snapshot build when `snapshotPolicy.sinceLast` entries were applied since the last one. */
export function maybeBuildSnapshot(state: SnapshotSlice): void {
  const every = state.config.snapshotPolicy.sinceLast;
  if (every === 0 || state.buildingSnapshot || state.applied === null) return;
  if (state.applied.index - indexOf(state.snapshot?.lastLogId ?? null) < every) return;
  state.buildingSnapshot = true;
  state.emit({ type: 'stateMachine', command: { type: 'buildSnapshot' } });
}

/** A snapshot build finished. Adopts it if newer; returns whether it did (then a purge may be planned). */
export function onSnapshotBuilt(state: SnapshotSlice, meta: SnapshotMeta): boolean {
  state.buildingSnapshot = false;
  if (compareLogId(meta.lastLogId, state.snapshot?.lastLogId ?? null) <= 0) return false;
  state.snapshot = meta;
  return true;
}

/**
 * Plans a purge keeping `maxInSnapshotLogToKeep` entries below the snapshot, in batches. Returns
 * whether it planned one.
 */
export function planPurge(state: SnapshotSlice): boolean {
  const snap = state.snapshot?.lastLogId ?? null;
  if (snap === null) return false;
  const upto = Math.min(snap.index - state.config.maxInSnapshotLogToKeep, indexOf(state.applied));
  if (upto < 0 || upto - indexOf(state.log.purged()) < state.config.purgeBatchSize) return false;
  const id = state.log.logIdAt(upto);
  if (id === null) return false;
  state.pendingPurge = maxLogId(state.pendingPurge, id);
  return true;
}

/**
 * Plans an explicit purge up to `index` inclusive, bounded by the current snapshot and the applied
 * index (`maxInSnapshotLogToKeep` and `purgeBatchSize` do not apply). Returns the log id the purge
 * will reach, or `null` when nothing is to purge.
 */
export function planPurgeUpTo(state: SnapshotSlice, index: number): LogId | null {
  const snap = state.snapshot?.lastLogId ?? null;
  if (snap === null) return null;
  const upto = Math.min(index, snap.index, indexOf(state.applied));
  if (upto <= indexOf(state.log.purged())) return null;
  const id = state.log.logIdAt(upto);
  if (id === null) return null;
  state.pendingPurge = maxLogId(state.pendingPurge, id);
  return id;
}

/** Runs the pending purge now (the caller checked no stream may read the range). */
export function purgeNow(state: SnapshotSlice): void {
  const upto = state.pendingPurge;
  if (upto === null) return;
  state.pendingPurge = null;
  if (upto.index > indexOf(state.log.purged())) purgeLog(state, upto);
}

/**
 * Installs a snapshot from the leader (whose vote the caller accepted). Returns `false` when it
 * holds nothing new (it is not past `committed`). Otherwise entries it covers are purged; if the
 * local log does not hold its last log id, the suffix after it is truncated first (the snapshot
 * overrides conflicting logs and membership). The state-machine install is issued before the purge,
 * which the runtime holds until the install is done; the caller's answer waits for the purge, hence
 * for both. The caller then records the snapshot as committed and applied.
 */
export function installFromLeader(
  state: SnapshotSlice,
  meta: SnapshotMeta,
): meta is SnapshotMeta & { lastLogId: LogId } {
  const last = meta.lastLogId;
  if (last === null || compareLogId(last, state.committed) <= 0) return false;
  adoptSnapshotLog(state, meta);
  // The state machine gets the snapshot before the purge is issued: the purge drops committed entries
  // only the snapshot holds from then on, so it must not become durable first (see `purgeLog`).
  state.emit({ type: 'stateMachine', command: { type: 'installSnapshot', meta } });
  purgeLog(state, last);
  state.snapshot = meta;
  state.pendingPurge = null;
  return true;
}

/** Answers an install-snapshot request: at once when refused, else once every write is durable. */
export function respondInstall(state: SnapshotSlice, reply: unknown, accepted: boolean): void {
  state.emit({
    type: 'respond',
    when: accepted ? state.whenDurable() : null,
    reply,
    response: { type: 'installSnapshot', response: { vote: state.vote } },
  });
}
