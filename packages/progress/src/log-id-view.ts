/**
 * The read-only view of the leader's log ids that a `ProgressEntry` decides from. A contract only:
 * the engine implements it; it must never grow a method that reads entries or storage.
 */
import type { LogId } from '@flotilla/types';

/**
 * The read-only view of the leader's log ids that a {@link ProgressEntry} needs to decide what to
 * send. The engine implements it over its log id list; nothing here reads storage.
 */
export interface LogIdView {
  /** Last purged log id (`null`: nothing purged). */
  purged(): LogId | null;
  /** Last log id (`null`: empty log). Equals `purged()` when the log was purged to its end. */
  last(): LogId | null;
  /**
   * The log id at `index`, for `purged.index <= index <= last.index` (`purged()` itself included);
   * `null` otherwise.
   */
  logIdAt(index: number): LogId | null;
}
