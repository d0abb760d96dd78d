import {
  type Entry,
  type IoFlushed,
  type LogId,
  type LogState,
  nextIndex,
  type RaftLogReader,
  type RaftLogStorage,
  StorageMisuseError,
  type Vote,
} from '@flotilla/types';

/** What the reference store keeps "on disk": survives a re-open. */
export interface Disk {
  vote: Vote | null;
  committed: LogId | null;
  purged: LogId | null;
  entries: Entry[];
}

/**
 * A deliberately small log store used to check the suite itself: every write goes straight to the
 * shared `disk` object, and flush callbacks run on the next microtask.
 */
export class ReferenceLogStore implements RaftLogStorage {
  readonly disk: Disk;

  constructor(disk: Disk = { vote: null, committed: null, purged: null, entries: [] }) {
    this.disk = disk;
  }

  #last(): LogId | null {
    return this.disk.entries[this.disk.entries.length - 1]?.logId ?? this.disk.purged;
  }

  async getLogState(): Promise<LogState> {
    return { lastPurgedLogId: this.disk.purged, lastLogId: this.#last() };
  }

  async readVote(): Promise<Vote | null> {
    return this.disk.vote;
  }

  async saveVote(vote: Vote): Promise<void> {
    this.disk.vote = { ...vote };
  }

  async append(entries: readonly Entry[], onFlushed: IoFlushed): Promise<void> {
    const next = nextIndex(this.#last());
    entries.forEach((e, i) => {
      if (e.logId.index !== next + i)
        throw new StorageMisuseError(
          i === 0 && e.logId.index > next ? 'Hole' : 'NotConsecutive',
          'bad append',
        );
    });
    this.disk.entries.push(...entries);
    queueMicrotask(() => onFlushed());
  }

  async truncate(since: LogId): Promise<void> {
    const first = nextIndex(this.disk.purged);
    if (since.index > nextIndex(this.#last()))
      throw new StorageMisuseError('TruncateBeyondEnd', 'beyond end');
    if (since.index < first) throw new StorageMisuseError('PurgedRange', 'purged');
    this.disk.entries.length = since.index - first;
  }

  async purge(upto: LogId): Promise<void> {
    const first = nextIndex(this.disk.purged);
    if (upto.index < first) return;
    // `upto` may lie beyond the last entry: everything goes and the log continues after `upto`.
    this.disk.entries.splice(0, upto.index + 1 - first);
    this.disk.purged = upto;
  }

  async saveCommitted(committed: LogId | null): Promise<void> {
    this.disk.committed = committed;
  }

  async readCommitted(): Promise<LogId | null> {
    return this.disk.committed;
  }

  reader(): RaftLogReader {
    const range = (start: number, end: number): Entry[] =>
      this.disk.entries.filter((e) => e.logId.index >= start && e.logId.index < end);
    return {
      tryGetLogEntries: async (start, end) => range(start, end),
      limitedGetLogEntries: async (start, end) => range(start, Math.min(end, start + 10)),
      getKeyLogIds: async (first, last) => {
        const es = range(first.index, last.index + 1);
        const out = es
          .filter((e, i) => es[i + 1] !== undefined && es[i + 1]!.logId.term !== e.logId.term)
          .map((e) => e.logId);
        return [...out, last];
      },
    };
  }
}
