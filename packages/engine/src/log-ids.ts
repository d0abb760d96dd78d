/**
 * The engine's compact view of its log: log ids only (purged, the first of each term, last), enough
 * to answer "which log id is at index i" and to serve as `@flotilla/progress`'s `LogIdView`. Must
 * never hold entries or payloads, and throws `PanickedError` on a change that breaks the log's order.
 */
import { formatLogId, type LogId, PanickedError } from '@flotilla/types';

/**
 * The engine's compact view of its log: the last purged log id, the first log id of every term in
 * the remaining log, and the last log id. Answers "which log id is at index i" in O(log terms)
 * without holding entries. Implements the `LogIdView` that `@flotilla/progress` reads.
 *
 * Invariants: `keys` are ascending in both term and index, all above `purged`; the first key is at
 * `purged.index + 1` when the log has entries after `purged`; `last` is `null` only when the log
 * is empty and nothing was purged; `last === purged` when everything was purged.
 */
export class LogIdList {
  #purged: LogId | null = null;
  #keys: LogId[] = [];
  #last: LogId | null = null;

  /** Builds a list from a purged log id and the key log ids (first of each term, then the last). */
  static of(purged: LogId | null, keyLogIds: readonly LogId[]): LogIdList {
    const l = new LogIdList();
    l.#purged = purged;
    l.#last = purged;
    for (const k of keyLogIds) {
      if (l.#last !== null && k.index <= l.#last.index) {
        throw new PanickedError(`key log id ${formatLogId(k)} not after ${formatLogId(l.#last)}`);
      }
      const prevTerm = l.#keys.length > 0 ? l.#keys[l.#keys.length - 1]!.term : (purged?.term ?? -1);
      if (k.term < prevTerm) throw new PanickedError(`key log id ${formatLogId(k)} goes back in term`);
      if (k.term !== prevTerm || l.#keys.length === 0) l.#keys.push(k);
      l.#last = k;
    }
    return l;
  }

  /** The last purged log id (`null`: nothing purged). */
  purged(): LogId | null {
    return this.#purged;
  }

  /** The last log id (the purged one when the log was purged to its end; `null` when empty). */
  last(): LogId | null {
    return this.#last;
  }

  /** The log id at `index` for `purged.index <= index <= last.index`; `null` otherwise. */
  logIdAt(index: number): LogId | null {
    const p = this.#purged;
    if (p !== null && index === p.index) return p;
    if (p !== null && index < p.index) return null;
    if (this.#last === null || index > this.#last.index || index < 0) return null;
    // Last key with key.index <= index.
    let lo = 0;
    let hi = this.#keys.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#keys[mid]!.index <= index) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    return { term: this.#keys[found]!.term, index };
  }

  /** Whether the log holds exactly `logId` (or `logId` is the purged one). `null` is always held. */
  contains(logId: LogId | null): boolean {
    if (logId === null) return true;
    const at = this.logIdAt(logId.index);
    return at !== null && at.term === logId.term;
  }

  /** Appends `logId`, which must directly follow the last one with a term not lower. */
  append(logId: LogId): void {
    const expect = this.#last === null ? 0 : this.#last.index + 1;
    if (logId.index !== expect) {
      throw new PanickedError(`append ${formatLogId(logId)} does not follow ${formatLogId(this.#last)}`);
    }
    const lastTerm = this.#last?.term ?? -1;
    if (logId.term < lastTerm) throw new PanickedError(`append ${formatLogId(logId)} goes back in term`);
    const lastKeyTerm = this.#keys.length > 0 ? this.#keys[this.#keys.length - 1]!.term : -1;
    if (this.#keys.length === 0 || logId.term !== lastKeyTerm) this.#keys.push(logId);
    this.#last = logId;
  }

  /** Removes every log id with index `>= since`; `since` must be above the purged index. */
  truncate(since: number): void {
    if (this.#purged !== null && since <= this.#purged.index) {
      throw new PanickedError(`truncate at ${since} reaches purged ${formatLogId(this.#purged)}`);
    }
    if (this.#last === null || since > this.#last.index) return;
    const newLast = since === 0 ? null : this.logIdAt(since - 1);
    this.#keys = this.#keys.filter((k) => k.index < since);
    this.#last = newLast ?? this.#purged;
  }

  /**
   * Purges every log id up to `upto` inclusive. When `upto` is beyond the last log id (a snapshot
   * install), the whole log goes and `upto` becomes both purged and last.
   */
  purge(upto: LogId): void {
    if (this.#purged !== null && upto.index <= this.#purged.index) return;
    if (this.#last === null || upto.index >= this.#last.index) {
      this.#purged = upto;
      this.#keys = [];
      this.#last = upto;
      return;
    }
    const next = this.logIdAt(upto.index + 1)!;
    this.#keys = this.#keys.filter((k) => k.index > upto.index + 1);
    this.#keys.unshift(next);
    this.#purged = upto;
  }

  /** The key log ids (first of each term after purged), for tests and diagnostics. */
  keys(): LogId[] {
    return [...this.#keys];
  }
}
