/**
 * The identity of a log entry: the term of the leader that created it and its position.
 * One leader per term means a `LogId` identifies an entry cluster-wide (Raft §5.3, Log Matching).
 * Indexes start at 0.
 */
export interface LogId {
  /** Term of the leader that proposed the entry. A non-negative integer. */
  term: number;
  /** Position of the entry in the log. A non-negative integer. */
  index: number;
}

/**
 * Orders log ids by term, then index. `null` (no log at all) sorts below every `LogId`.
 * Returns a negative number, zero or a positive number.
 */
export function compareLogId(a: LogId | null, b: LogId | null): number {
  if (a === null) return b === null ? 0 : -1;
  if (b === null) return 1;
  if (a.term !== b.term) return a.term < b.term ? -1 : 1;
  if (a.index !== b.index) return a.index < b.index ? -1 : 1;
  return 0;
}

/** Whether two log ids (or two `null`s) are the same. */
export function logIdEquals(a: LogId | null, b: LogId | null): boolean {
  return compareLogId(a, b) === 0;
}

/** The greater of two log ids (`null` being the least). */
export function maxLogId(a: LogId | null, b: LogId | null): LogId | null {
  return compareLogId(a, b) >= 0 ? a : b;
}

/** The lesser of two log ids (`null` being the least). */
export function minLogId(a: LogId | null, b: LogId | null): LogId | null {
  return compareLogId(a, b) <= 0 ? a : b;
}

/** The index right after `logId`: 0 for `null`, `logId.index + 1` otherwise. */
export function nextIndex(logId: LogId | null): number {
  return logId === null ? 0 : logId.index + 1;
}

/** The index of `logId`, or `-1` for `null`, so that `indexOf(x) + 1 === nextIndex(x)`. */
export function indexOf(logId: LogId | null): number {
  return logId === null ? -1 : logId.index;
}

/** Builds a log id. */
export function logId(term: number, index: number): LogId {
  return { term, index };
}

/** Renders a log id as `T-I` (or `-` for `null`) for logs and error messages. */
export function formatLogId(logId: LogId | null): string {
  return logId === null ? '-' : `${logId.term}-${logId.index}`;
}
