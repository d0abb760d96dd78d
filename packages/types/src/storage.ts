/**
 * Owns the log storage contract: `RaftLogStorage` (ordered, hole-free writes of the log and the
 * vote, flushes reported through `IoFlushed`), its readers, and one default any store may reuse
 * (`keyLogIdsByBinarySearch`). Must never name a storage format or a codec: stores choose their own.
 */
import type { Entry } from './entry.ts';
import type { LogId } from './log-id.ts';
import type { Vote } from './vote.ts';

/** Where a log store stands. */
export interface LogState {
  /** The last purged entry (`null`: nothing purged). Entries up to it are gone. */
  lastPurgedLogId: LogId | null;
  /** The last entry in the log, or the last purged one if the log is empty after a purge. */
  lastLogId: LogId | null;
}

/**
 * Called once when the entries of an `append` are durable, or with the error that kept them from
 * becoming durable. A flush also means every earlier `saveVote`, `truncate` and `purge` is durable:
 * writes are ordered.
 */
export type IoFlushed = (err?: Error) => void;

/** Reads log entries. Obtained from `RaftLogStorage.reader()`; replication streams hold their own. */
export interface RaftLogReader {
  /**
   * Returns the entries with index in `[start, end)`, all of them, in order. Entries not present
   * (purged, or past the end) are simply absent from the result: callers check what they got.
   */
  tryGetLogEntries(start: number, end: number): Promise<Entry[]>;
  /**
   * Like `tryGetLogEntries` but may return only a non-empty prefix of the range (e.g. to bound memory
   * or to serve only what is cached), as long as the range is non-empty and its first entry exists.
   */
  limitedGetLogEntries(start: number, end: number): Promise<Entry[]>;
  /**
   * The last log id of each term in `[first, last]` (both present in the log), in order, ending with
   * `last`. Used by a follower to tell a leader where terms change. See `keyLogIdsByBinarySearch`.
   */
  getKeyLogIds(first: LogId, last: LogId): Promise<LogId[]>;
}

/**
 * Durable Raft log and vote storage. Writes (`saveVote`, `append`, `truncate`, `purge`,
 * `saveCommitted`) are issued one at a time by the runtime and must take effect in that order; the
 * log never has holes. Misuse (an append that does not continue the log, a truncate past the end) is
 * refused with a `StorageMisuseError`. I/O failures reject with a
 * `StorageError`.
 */
export interface RaftLogStorage {
  /** The purged and last log ids. */
  getLogState(): Promise<LogState>;
  /** The last saved vote, or `null` if none was ever saved. */
  readVote(): Promise<Vote | null>;
  /** Saves the vote; it is durable when the promise resolves. */
  saveVote(vote: Vote): Promise<void>;
  /**
   * Appends consecutive entries right after the last one (or after the last purged one). Resolves
   * once they are readable through every reader; calls `onFlushed` exactly once, when they are durable
   * (or with the error that prevented it). Entries may be appended before earlier ones are flushed.
   */
  append(entries: readonly Entry[], onFlushed: IoFlushed): Promise<void>;
  /**
   * Deletes every entry with index `>= since.index` (a conflicting suffix). Durable when the promise
   * resolves, with every earlier write (the runtime reports it flushed then).
   */
  truncate(since: LogId): Promise<void>;
  /**
   * Deletes every entry with index `<= upto.index` and remembers `upto` as the last purged id. `upto` may
   * lie beyond the last entry (a follower installing a snapshot that covers more than its log): the log
   * is then empty, `getLogState()` reports `upto` as both the purged and the last log id, and the next
   * append continues at `upto.index + 1`. Durable when the promise resolves, with every earlier write.
   */
  purge(upto: LogId): Promise<void>;
  /** Optionally persists the committed log id (lets a restart re-apply without a new leader). */
  saveCommitted?(committed: LogId | null): Promise<void>;
  /** Reads what `saveCommitted` saved. */
  readCommitted?(): Promise<LogId | null>;
  /** A reader of this log. May be called many times; readers see every readable entry. */
  reader(): RaftLogReader;
  /** Releases resources (files, locks). No call is made after it. */
  close?(): Promise<void>;
}

/**
 * A default `getKeyLogIds`: finds where terms change in `[first, last]` by binary search over
 * `tryGetLogEntries`, reading O(terms × log n) single entries.
 */
export async function keyLogIdsByBinarySearch(
  reader: Pick<RaftLogReader, 'tryGetLogEntries'>,
  first: LogId,
  last: LogId,
): Promise<LogId[]> {
  const out: LogId[] = [];
  let lo = first;
  while (lo.term !== last.term) {
    // Find the last index whose term equals lo.term, in [lo.index, last.index).
    let a = lo.index;
    let b = last.index;
    while (b - a > 1) {
      const mid = a + Math.floor((b - a) / 2);
      const [e] = await reader.tryGetLogEntries(mid, mid + 1);
      if (e === undefined) throw new Error(`getKeyLogIds: entry ${mid} missing`);
      if (e.logId.term === lo.term) a = mid;
      else b = mid;
    }
    out.push({ term: lo.term, index: a });
    const [next] = await reader.tryGetLogEntries(b, b + 1);
    if (next === undefined) throw new Error(`getKeyLogIds: entry ${b} missing`);
    lo = next.logId;
  }
  out.push(last);
  return out;
}
