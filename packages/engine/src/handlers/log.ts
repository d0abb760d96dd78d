/**
 * Log handler: appends, truncations and purges of the local log, with the membership state that
 * follows the log (membership entries take effect on append; a truncation restores the previous
 * one). Owns `log` and `membership`; every change is one storage write issued through `nextIo`.
 * Imports no other handler.
 */
import {
  compareLogId,
  type Entry,
  formatLogId,
  indexOf,
  type LogId,
  type SnapshotMeta,
} from '@flotilla/types';
import type { EngineCore } from '../core.ts';

/** The state the log handler works on (`committed` and `vote` are only read). */
export type LogSlice = Pick<EngineCore, 'log' | 'membership' | 'emit' | 'nextIo' | 'assert'> &
  Readonly<Pick<EngineCore, 'committed' | 'vote'>>;

/** Appends entries (consecutive, after the last one) under the current vote: one write command. */
export function appendToLog(state: LogSlice, entries: Entry[]): void {
  if (entries.length === 0) return;
  for (const e of entries) {
    state.log.append(e.logId);
    if (e.payload.type === 'membership') {
      state.membership = {
        committed: state.membership.effective,
        effective: { logId: e.logId, membership: e.payload.membership },
      };
    }
  }
  const ioId = state.nextIo();
  state.emit({ type: 'appendEntries', ioId, vote: state.vote, entries });
}

/** Deletes every entry from `since` on (a conflicting suffix). Never reaches a committed entry. */
export function truncateLog(state: LogSlice, since: LogId): void {
  state.assert(since.index > indexOf(state.committed), () => {
    return `truncating at ${formatLogId(since)} would remove committed ${formatLogId(state.committed)}`;
  });
  state.log.truncate(since.index);
  const eff = state.membership.effective.logId;
  if (eff !== null && eff.index >= since.index) {
    state.membership = { committed: state.membership.committed, effective: state.membership.committed };
  }
  const ioId = state.nextIo();
  state.emit({ type: 'truncateLog', ioId, since });
}

/** Purges every entry up to `upto` (covered by a snapshot). */
export function purgeLog(state: LogSlice, upto: LogId): void {
  state.log.purge(upto);
  const ioId = state.nextIo();
  state.emit({ type: 'purgeLog', ioId, upto });
}

/** Raises the committed membership once its entry is committed. */
export function commitMembership(state: LogSlice): void {
  const eff = state.membership.effective;
  if (
    eff.logId !== null &&
    compareLogId(eff.logId, state.committed) <= 0 &&
    state.membership.committed !== eff
  ) {
    state.membership = { committed: eff, effective: eff };
  }
}

/** Whether the effective membership is committed (no membership change in progress). */
export function membershipCommitted(state: Readonly<Pick<EngineCore, 'membership' | 'committed'>>): boolean {
  return compareLogId(state.membership.effective.logId, state.committed) <= 0;
}

/**
 * A snapshot from the leader is being installed: if the log does not hold its last log id, the
 * suffix after it is truncated (it may conflict) and the snapshot's membership replaces ours;
 * otherwise its membership becomes the committed one if newer. The purge comes later (`purgeLog`).
 */
export function adoptSnapshotLog(state: LogSlice, meta: SnapshotMeta): void {
  const last = meta.lastLogId;
  if (last === null) return;
  if (!state.log.contains(last)) {
    // Entries after the snapshot may conflict with it: truncate them; the purge drops the rest.
    const at = state.log.logIdAt(last.index + 1);
    if (at !== null) truncateLog(state, at);
    state.membership = { committed: meta.lastMembership, effective: meta.lastMembership };
  } else if (compareLogId(meta.lastMembership.logId, state.membership.committed.logId) > 0) {
    const eff = state.membership.effective;
    state.membership = {
      committed: meta.lastMembership,
      effective: compareLogId(eff.logId, meta.lastMembership.logId) > 0 ? eff : meta.lastMembership,
    };
  }
}
