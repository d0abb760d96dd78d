import { type Entry, keyLogIdsByBinarySearch, type LogId, type RaftLogReader } from '@flotilla/types';

/**
 * A log reader over an array (index `i` at position `i`) that counts its calls, for tests and
 * benchmarks. Set `failWith` to make reads fail, `onRead` to act between a read and its result.
 */
export class CountingReader implements RaftLogReader {
  /** The leader's log; append to it freely. */
  readonly log: Entry[];
  /** Read calls made. */
  reads = 0;
  /** When set, every read rejects with it. */
  failWith: Error | null = null;
  /** When set, `limitedGetLogEntries` returns at most this many entries. */
  maxPerRead: number | null = null;
  /** Called inside each read, before it returns. */
  onRead: (() => void) | null = null;

  /** @param log - the leader's log, shared (not copied). */
  constructor(log: Entry[]) {
    this.log = log;
  }

  /** See `RaftLogReader.tryGetLogEntries`; counts the call. */
  async tryGetLogEntries(start: number, end: number): Promise<Entry[]> {
    this.reads += 1;
    if (this.failWith !== null) throw this.failWith;
    this.onRead?.();
    return this.log.slice(start, Math.max(start, end));
  }

  /** See `RaftLogReader.limitedGetLogEntries`; counts the call and honours `maxPerRead`. */
  async limitedGetLogEntries(start: number, end: number): Promise<Entry[]> {
    return this.tryGetLogEntries(
      start,
      this.maxPerRead === null ? end : Math.min(end, start + this.maxPerRead),
    );
  }

  /** See `RaftLogReader.getKeyLogIds`. */
  getKeyLogIds(first: LogId, last: LogId): Promise<LogId[]> {
    return keyLogIdsByBinarySearch(this, first, last);
  }
}
