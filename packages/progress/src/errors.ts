/**
 * The package's one error of its own: `LogReversionError` (code `LOG_REVERSION`), thrown when a
 * target rejects a log id it had already acknowledged and reversion is not allowed. Must never be
 * identified by `instanceof`: callers match its `code`.
 */
import { formatLogId, type LogId, type NodeId } from '@flotilla/types';

/** The stable code of {@link LogReversionError}. */
export const LOG_REVERSION = 'LOG_REVERSION' as const;

/**
 * A target rejected a log id at or below the point it had already acknowledged: it lost entries it
 * had confirmed (e.g. its storage was wiped or lost unsynced writes). Raft assumes this never
 * happens, so it is refused unless the progress allows log reversion (by config or once).
 * Identify it by `code === 'LOG_REVERSION'`, not by `instanceof`.
 */
export class LogReversionError extends Error {
  /** The stable code. */
  readonly code: typeof LOG_REVERSION = LOG_REVERSION;
  /** The target whose log went backwards, when the progress knows it. */
  readonly target?: NodeId;
  /** What the target had acknowledged before. */
  readonly matching: LogId | null;
  /** The index of the rejected log id (the `prevLogId` of the request that conflicted). */
  readonly conflictIndex: number;

  /** @param init - what the target had acknowledged, the rejected index and, when known, the target. */
  constructor(init: { matching: LogId | null; conflictIndex: number; target?: NodeId | undefined }) {
    const who = init.target === undefined ? 'target' : `target ${init.target}`;
    super(
      `${who} reverted its log: conflict at index ${init.conflictIndex} at or below matching ${formatLogId(init.matching)}`,
    );
    this.name = 'LogReversionError';
    this.matching = init.matching;
    this.conflictIndex = init.conflictIndex;
    if (init.target !== undefined) this.target = init.target;
  }

  /** Plain data for logs and wire formats. */
  toJSON(): { name: string; code: typeof LOG_REVERSION; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}
