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
  /** Called inside each read, before it returns. */
  onRead: (() => void) | null = null;

  constructor(log: Entry[]) {
    this.log = log;
  }

  async tryGetLogEntries(start: number, end: number): Promise<Entry[]> {
    this.reads += 1;
    if (this.failWith !== null) throw this.failWith;
    this.onRead?.();
    return this.log.slice(start, Math.max(start, end));
  }

  async limitedGetLogEntries(start: number, end: number): Promise<Entry[]> {
    return this.tryGetLogEntries(start, end);
  }

  getKeyLogIds(first: LogId, last: LogId): Promise<LogId[]> {
    return keyLogIdsByBinarySearch(this, first, last);
  }
}
