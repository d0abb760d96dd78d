/**
 * Snapshot handler: the snapshot policy, log purging behind snapshots (never under a range a
 * replication stream may still read), and installing a snapshot received from the leader (Raft §7).
 * Owns `snapshot`, `buildingSnapshot`, `pendingPurge`, `applied`.
 */
import {
  compareLogId,
  type InstallSnapshotRequest,
  indexOf,
  type LogId,
  maxLogId,
  type SnapshotMeta,
} from '@flotilla/types';
import type { EngineCore } from '../core.ts';
import { acceptLeaderVote } from './following.ts';
import { purgeLog, truncateLog } from './log.ts';
import { sendDeferred } from './replication.ts';

/** The state machine applied up to `logId`: maybe build a snapshot. */
export function onApplied(c: EngineCore, logId: LogId): void {
  c.assert(compareLogId(logId, c.applying) <= 0, () => 'applied beyond what was handed to the state machine');
  c.applied = maxLogId(c.applied, logId);
  maybeBuildSnapshot(c);
}

/** Starts a snapshot build when `snapshotPolicy.sinceLast` entries were applied since the last one. */
export function maybeBuildSnapshot(c: EngineCore): void {
  const every = c.config.snapshotPolicy.sinceLast;
  if (every === 0 || c.buildingSnapshot || c.applied === null) return;
  if (c.applied.index - indexOf(c.snapshot?.lastLogId ?? null) < every) return;
  c.buildingSnapshot = true;
  c.emit({ type: 'stateMachine', command: { type: 'buildSnapshot' } });
}

/** A snapshot build finished. Adopts it if newer and schedules a purge. */
export function onSnapshotBuilt(c: EngineCore, meta: SnapshotMeta): void {
  c.buildingSnapshot = false;
  if (compareLogId(meta.lastLogId, c.snapshot?.lastLogId ?? null) <= 0) return;
  c.snapshot = meta;
  schedulePurge(c);
}

/** Plans a purge keeping `maxInSnapshotLogToKeep` entries below the snapshot, in batches. */
export function schedulePurge(c: EngineCore): void {
  const snap = c.snapshot?.lastLogId ?? null;
  if (snap === null) return;
  const upto = Math.min(snap.index - c.config.maxInSnapshotLogToKeep, indexOf(c.applied));
  if (upto < 0 || upto - indexOf(c.log.purged()) < c.config.purgeBatchSize) return;
  const id = c.log.logIdAt(upto);
  if (id === null) return;
  c.pendingPurge = maxLogId(c.pendingPurge, id);
  tryPurge(c);
}

/**
 * An explicit purge up to `index` inclusive, bounded by the current snapshot and the applied index
 * (`maxInSnapshotLogToKeep` and `purgeBatchSize` do not apply). Returns the log id the purge will
 * reach (at once, or once no in-flight range below it remains), or `null` when nothing is to purge.
 */
export function purgeUpTo(c: EngineCore, index: number): LogId | null {
  const snap = c.snapshot?.lastLogId ?? null;
  if (snap === null) return null;
  const upto = Math.min(index, snap.index, indexOf(c.applied));
  if (upto <= indexOf(c.log.purged())) return null;
  const id = c.log.logIdAt(upto);
  if (id === null) return null;
  c.pendingPurge = maxLogId(c.pendingPurge, id);
  tryPurge(c);
  return id;
}

/** Runs the pending purge unless a replication stream may still read the range. */
export function tryPurge(c: EngineCore): void {
  const upto = c.pendingPurge;
  if (upto === null) return;
  if (c.leader !== null) {
    for (const p of c.leader.progress.values()) if (p.isLogRangeInflight(upto.index)) return;
  }
  c.pendingPurge = null;
  if (upto.index > indexOf(c.log.purged())) purgeLog(c, upto);
  sendDeferred(c);
}

/**
 * Installs a snapshot from the leader: entries it covers are purged; if the local log does not hold
 * its last log id, the uncommitted suffix is truncated first (the snapshot overrides conflicting logs
 * and membership). The state-machine install is issued before the purge, which the runtime holds
 * until the install is done; the answer waits for the purge, hence for both.
 */
export function handleInstallSnapshot(
  c: EngineCore,
  req: InstallSnapshotRequest,
  reply: unknown,
  now: number,
): void {
  const respond = () => {
    c.emit({
      type: 'respond',
      when: c.whenDurable(),
      reply,
      response: { type: 'installSnapshot', response: { vote: c.vote } },
    });
  };
  if (!acceptLeaderVote(c, req.vote, now)) {
    c.emit({
      type: 'respond',
      when: null,
      reply,
      response: { type: 'installSnapshot', response: { vote: c.vote } },
    });
    return;
  }
  const meta = req.meta;
  const last = meta.lastLogId;
  if (last === null || compareLogId(last, c.committed) <= 0) {
    respond();
    return;
  }
  if (!c.log.contains(last)) {
    // Entries after the snapshot may conflict with it: truncate them; the purge drops the rest.
    const at = c.log.logIdAt(last.index + 1);
    if (at !== null) truncateLog(c, at);
    c.membership = { committed: meta.lastMembership, effective: meta.lastMembership };
  } else if (compareLogId(meta.lastMembership.logId, c.membership.committed.logId) > 0) {
    const eff = c.membership.effective;
    c.membership = {
      committed: meta.lastMembership,
      effective: compareLogId(eff.logId, meta.lastMembership.logId) > 0 ? eff : meta.lastMembership,
    };
  }
  // The state machine gets the snapshot before the purge is issued: the purge drops committed entries
  // only the snapshot holds from then on, so it must not become durable first (see `purgeLog`).
  c.emit({ type: 'stateMachine', command: { type: 'installSnapshot', meta } });
  purgeLog(c, last);
  c.snapshot = meta;
  c.committed = last;
  c.applying = last;
  c.applied = last;
  c.pendingPurge = null;
  c.acceptedFromLeader = maxLogId(c.acceptedFromLeader, last);
  respond();
}
