/**
 * Log handler: appends, truncations and purges of the local log, with the membership state that
 * follows the log (membership entries take effect on append; a truncation restores the previous
 * one). Owns `log`, `membership`, `io.accepted`.
 */
import { compareLogId, type Entry, formatLogId, indexOf, type LogId } from '@flotilla/types';
import type { EngineCore } from '../core.ts';

/** Appends entries (consecutive, after the last one) under the current vote: one write command. */
export function appendToLog(c: EngineCore, entries: Entry[]): void {
  if (entries.length === 0) return;
  for (const e of entries) {
    c.log.append(e.logId);
    if (e.payload.type === 'membership') {
      c.membership = {
        committed: c.membership.effective,
        effective: { logId: e.logId, membership: e.payload.membership },
      };
    }
  }
  const ioId = c.nextIo();
  c.emit({ type: 'appendEntries', ioId, vote: c.vote, entries });
}

/** Deletes every entry from `since` on (a conflicting suffix). Never reaches a committed entry. */
export function truncateLog(c: EngineCore, since: LogId): void {
  c.assert(since.index > indexOf(c.committed), () => {
    return `truncating at ${formatLogId(since)} would remove committed ${formatLogId(c.committed)}`;
  });
  c.log.truncate(since.index);
  const eff = c.membership.effective.logId;
  if (eff !== null && eff.index >= since.index) {
    c.membership = { committed: c.membership.committed, effective: c.membership.committed };
  }
  const ioId = c.nextIo();
  c.emit({ type: 'truncateLog', ioId, since });
}

/** Purges every entry up to `upto` (covered by a snapshot). */
export function purgeLog(c: EngineCore, upto: LogId): void {
  c.log.purge(upto);
  const ioId = c.nextIo();
  c.emit({ type: 'purgeLog', ioId, upto });
}

/** Raises the committed membership once its entry is committed. */
export function commitMembership(c: EngineCore): void {
  const eff = c.membership.effective;
  if (eff.logId !== null && compareLogId(eff.logId, c.committed) <= 0 && c.membership.committed !== eff) {
    c.membership = { committed: eff, effective: eff };
  }
}

/** Whether the effective membership is committed (no membership change in progress). */
export function membershipCommitted(c: EngineCore): boolean {
  return compareLogId(c.membership.effective.logId, c.committed) <= 0;
}
