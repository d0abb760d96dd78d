/**
 * The file log store: the `RaftLogStorage` contract over a directory of segment files. It checks
 * every call (consecutive appends, ranges within the log), keeps the in-memory view readers see at
 * once (index, segment sizes, tail cache, meta), and hands the disk work to the group-commit
 * writer; reads come from the tail cache or, verified record by record, from the segments.
 *
 * Owns the view of the log and the order of its changes. Must never write a file itself (only the
 * writer does, in queue order), never let a reader see an entry that is neither cached nor written,
 * and never resolve a write before the writer made it durable.
 */
import type { Entry, IoFlushed, LogId, LogState, RaftLogReader, RaftLogStorage, Vote } from '@flotilla/types';
import { formatLogId, nextIndex, StorageError, StorageMisuseError } from '@flotilla/types';
import { layOutAppend } from './append-layout.ts';
import type { EntryLocations } from './entry-locations.ts';
import type { FileIO } from './file-io.ts';
import { GroupCommitWriter } from './group-commit.ts';
import type { HeldLock } from './lock.ts';
import type { MetaState } from './meta.ts';
import {
  type FileLogStoreOptions,
  type FileLogStoreStats,
  type ResolvedOptions,
  resolveOptions,
} from './options.ts';
import type { RecoverySummary } from './recovery.ts';
import type { Segment } from './segment.ts';
import { readSegmentEntries } from './segment-read.ts';
import { TailCache } from './tail-cache.ts';

export type { FileLogStoreOptions, FileLogStoreStats } from './options.ts';

/**
 * A durable Raft log in a directory of checksummed segment files, with group commit. Obtain one
 * with {@link fileLogStore}. See the package README for the layout and guarantees.
 */
export class FileLogStore implements RaftLogStorage {
  /** The store's directory (absolute). */
  readonly dir: string;
  /** What recovery found when the store was opened. */
  readonly recovery: RecoverySummary;
  readonly #io: FileIO;
  readonly #lock: HeldLock;
  readonly #options: ResolvedOptions;
  readonly #writer: GroupCommitWriter;
  // Background committed persistence: a newer id than the meta file's, and the timer that writes it.
  #committedDirty = false;
  #committedTimer: ReturnType<typeof setTimeout> | undefined;

  #meta: MetaState;
  #segments: Segment[];
  #locations: EntryLocations;
  /** Bumped by every truncate and purge, so a read that raced one reads again. */
  #generation = 0;
  readonly #cache: TailCache;
  #closed = false;

  /** @internal Use {@link fileLogStore}. */
  constructor(
    dir: string,
    io: FileIO,
    options: FileLogStoreOptions,
    lock: HeldLock,
    meta: MetaState,
    segments: Segment[],
    locations: EntryLocations,
    recovery: RecoverySummary,
  ) {
    this.dir = dir;
    this.#io = io;
    this.#lock = lock;
    this.#options = resolveOptions(options);
    this.#writer = new GroupCommitWriter(io, dir, options.logger, () => this.#evict(), {
      bytes: this.#options.preallocateBytes,
      limit: this.#options.segmentBytes,
    });
    this.#meta = meta;
    this.#segments = segments;
    this.#locations = locations;
    this.#cache = new TailCache(locations.next);
    this.recovery = recovery;
  }

  // ------------------------------------------------------------------ state

  #lastLogId(): LogId | null {
    const locations = this.#locations;
    if (locations.length === 0) return this.#meta.lastPurged;
    return { term: locations.termOf(locations.next - 1), index: locations.next - 1 };
  }

  /** The purged and last log ids. */
  async getLogState(): Promise<LogState> {
    this.#checkOpen();
    return { lastPurgedLogId: this.#meta.lastPurged, lastLogId: this.#lastLogId() };
  }

  /** The last saved vote, or `null`. */
  async readVote(): Promise<Vote | null> {
    this.#checkOpen();
    return this.#meta.vote;
  }

  /** The last committed log id saved (always `null` with `persistCommitted: false` after a restart). */
  async readCommitted(): Promise<LogId | null> {
    this.#checkOpen();
    return this.#meta.committed;
  }

  /** Counters: segments, entries, index memory, cache, batches and syncs. */
  stats(): FileLogStoreStats {
    return {
      segments: this.#segments.length,
      entries: this.#locations.length,
      indexBytes: this.#locations.memoryBytes(),
      cachedEntries: this.#cache.size,
      ...this.#writer.counters(),
    };
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageMisuseError('Closed', 'the file log store is closed');
  }

  #checkWritable(): void {
    this.#checkOpen();
    const failure = this.#writer.failure;
    if (failure !== null)
      throw new StorageError('write', `the store refuses writes after an I/O error: ${failure.message}`, {
        cause: failure,
      });
  }

  // ------------------------------------------------------------------ writes

  /** Saves the vote; resolves once it is durable (meta file replaced atomically). */
  async saveVote(vote: Vote): Promise<void> {
    this.#checkWritable();
    this.#meta = { ...this.#meta, vote: { term: vote.term, nodeId: vote.nodeId, committed: vote.committed } };
    this.#committedDirty = false; // this meta write carries the latest committed id too
    await this.#writer.writeMeta(this.#meta);
  }

  /**
   * Saves the committed log id. With `persistCommitted` (the default) it is durable on resolve, or,
   * with `committedFlushMs`, written in the background (see {@link FileLogStoreOptions}).
   */
  async saveCommitted(committed: LogId | null): Promise<void> {
    this.#checkWritable();
    this.#meta = {
      ...this.#meta,
      committed: committed === null ? null : { term: committed.term, index: committed.index },
    };
    if (!this.#options.persistCommitted) return;
    const ms = this.#options.committedFlushMs;
    if (ms === undefined) {
      await this.#writer.writeMeta(this.#meta);
      return;
    }
    this.#committedDirty = true;
    if (this.#committedTimer === undefined) {
      this.#committedTimer = setTimeout(() => {
        this.#committedTimer = undefined;
        // A failure here has already failed the store; later writes report it.
        this.#flushCommitted().catch(() => undefined);
      }, ms);
      this.#committedTimer.unref?.();
    }
  }

  /** Queues a meta write of a committed id saved in the background and not written yet. */
  #flushCommitted(): Promise<void> {
    clearTimeout(this.#committedTimer);
    this.#committedTimer = undefined;
    if (!this.#committedDirty || this.#closed || this.#writer.failure !== null) return Promise.resolve();
    this.#committedDirty = false;
    return this.#writer.writeMeta(this.#meta);
  }

  /**
   * Appends entries continuing the log. Resolves as soon as they are readable (in the tail cache);
   * `onFlushed` is called once their batch is written and `fdatasync`ed, after every earlier write.
   */
  async append(entries: readonly Entry[], onFlushed: IoFlushed): Promise<void> {
    this.#checkWritable();
    if (entries.length === 0) {
      this.#writer.append({ chunks: [], first: Number.POSITIVE_INFINITY, onFlushed });
      return;
    }
    const first = nextIndex(this.#lastLogId());
    let want = first;
    for (const e of entries) {
      if (e.logId.index !== want)
        throw new StorageMisuseError(
          want === first && e.logId.index > want ? 'Hole' : 'NotConsecutive',
          `append: entry ${formatLogId(e.logId)} where index ${want} was expected`,
        );
      want++;
    }
    const chunks = layOutAppend(
      {
        dir: this.dir,
        segments: this.#segments,
        locations: this.#locations,
        segmentBytes: this.#options.segmentBytes,
      },
      entries,
    );
    this.#cache.append(first, entries); // they stay cached until written
    this.#writer.append({ chunks, first, onFlushed });
    this.#evict();
  }

  /**
   * Deletes every entry with index `>= since.index`. Takes effect for readers at once; resolves once
   * it is durable, after every earlier write.
   */
  async truncate(since: LogId): Promise<void> {
    this.#checkWritable();
    const from = since.index;
    const locations = this.#locations;
    if (from < locations.first)
      throw new StorageMisuseError(
        'PurgedRange',
        `truncate(${formatLogId(since)}): entries below ${locations.first} are purged`,
      );
    if (from > locations.next)
      throw new StorageMisuseError(
        'TruncateBeyondEnd',
        `truncate(${formatLogId(since)}): the log ends at ${locations.next - 1}`,
      );
    if (from === locations.next) return;
    const deleted: Segment[] = [];
    while (
      this.#segments.length > 0 &&
      (this.#segments[this.#segments.length - 1] as Segment).firstIndex >= from
    )
      deleted.push(this.#segments.pop() as Segment);
    const tail = this.#segments[this.#segments.length - 1] ?? null;
    // When `from` starts a deleted segment, the new tail is left whole; otherwise `from` is in the tail.
    const lowestDeleted = deleted[deleted.length - 1];
    const keepSize =
      lowestDeleted?.firstIndex === from || tail === null ? (tail?.size ?? 0) : locations.offsetOf(from);
    if (tail !== null) tail.size = keepSize;
    locations.truncate(from);
    this.#generation++;
    this.#cache.truncateFrom(from);
    await this.#writer.truncate({ deleted, tail, keepSize });
  }

  /**
   * Deletes every entry with index `<= upto.index` (whole segments on disk) and records `upto` as
   * the last purged id. `upto` may lie beyond the last entry (a snapshot install past the log):
   * every segment goes, `upto` becomes the last log id too, and the next append starts a new
   * segment at `upto.index + 1`. On disk the purged id is written to the meta file before any
   * segment is deleted, so recovery after a crash part-way drops the leftovers. Resolves once
   * durable, like {@link FileLogStore.truncate}.
   */
  async purge(upto: LogId): Promise<void> {
    this.#checkWritable();
    const locations = this.#locations;
    if (upto.index < locations.first) return;
    const nextLive = upto.index + 1;
    const deleted: Segment[] = [];
    while (this.#segments.length > 0) {
      const segment = this.#segments[0] as Segment;
      const after = this.#segments[1];
      const lastOfSegment = after === undefined ? locations.next - 1 : after.firstIndex - 1;
      if (lastOfSegment >= nextLive) break;
      deleted.push(segment);
      this.#segments.shift();
    }
    locations.purge(nextLive);
    this.#generation++;
    this.#cache.dropBelow(nextLive);
    this.#meta = { ...this.#meta, lastPurged: { term: upto.term, index: upto.index } };
    this.#committedDirty = false; // this meta write carries the latest committed id too
    await this.#writer.purge({ meta: this.#meta, deleted });
  }

  #evict(): void {
    this.#cache.evict(
      { maxEntries: this.#options.cacheEntries, maxBytes: this.#options.cacheBytes },
      this.#writer.unwrittenFrom,
    );
  }

  /**
   * Resolves once every write issued so far is durable (a committed id saved in the background
   * included); rejects with the store's I/O error if it has failed.
   */
  async sync(): Promise<void> {
    await this.#flushCommitted().catch(() => undefined);
    await this.#writer.drain();
    this.#checkWritable();
  }

  /**
   * Waits for queued writes, closes every file and releases the lock. Later calls are refused
   * with a `StorageMisuseError` (`Closed`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#flushCommitted().catch(() => undefined);
    await this.#writer.drain();
    this.#closed = true;
    for (const s of this.#segments) await s.closeHandle();
    await this.#lock.release().catch(() => undefined);
  }

  // ------------------------------------------------------------------ reads

  /** A reader of this log (cheap; all readers share the store's cache and files). */
  reader(): RaftLogReader {
    return {
      tryGetLogEntries: (start, end) => this.#read(start, end, false),
      limitedGetLogEntries: (start, end) => this.#read(start, end, true),
      getKeyLogIds: async (first, last) => {
        this.#checkOpen();
        const locations = this.#locations;
        if (first.index < locations.first || last.index >= locations.next || first.index > last.index)
          throw new StorageMisuseError(
            'PurgedRange',
            `getKeyLogIds(${formatLogId(first)}, ${formatLogId(last)}): not within [${locations.first}, ${locations.next - 1}]`,
          );
        const out = locations.termEnds(first.index, last.index);
        if (out.length > 0) out[out.length - 1] = { term: last.term, index: last.index };
        return out;
      },
    };
  }

  /** Position in `#segments` of the segment holding `index`. */
  #segmentAt(index: number): number {
    const segments = this.#segments;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((segments[mid] as Segment).firstIndex <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  async #read(start: number, end: number, limited: boolean): Promise<Entry[]> {
    for (let attempt = 0; ; attempt++) {
      this.#checkOpen();
      const generation = this.#generation;
      try {
        return await this.#readOnce(start, end, limited);
      } catch (err) {
        // A truncate or purge raced with the read and removed what it was reading: read again.
        if (generation !== this.#generation && attempt < 5) continue;
        if (err instanceof StorageError || err instanceof StorageMisuseError) throw err;
        throw new StorageError('read', `reading entries [${start}, ${end}): ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }

  async #readOnce(start: number, end: number, limited: boolean): Promise<Entry[]> {
    const locations = this.#locations;
    const cache = this.#cache;
    const readBatchBytes = this.#options.readBatchBytes;
    const hi = Math.min(end, locations.next);
    const out: Entry[] = [];
    let i = Math.max(start, locations.first);
    let bytes = 0;
    while (i < hi) {
      if (i >= cache.start) {
        for (; i < hi; i++) out.push(cache.at(i));
        break;
      }
      if (limited && out.length > 0 && bytes >= readBatchBytes) break;
      const at = this.#segmentAt(i);
      const segment = this.#segments[at];
      if (segment === undefined) throw new Error(`no segment holds entry ${i}`);
      const segmentEnd = Math.min(hi, cache.start, this.#segments[at + 1]?.firstIndex ?? hi);
      // Read up to readBatchBytes at a time (at least one record).
      let j = i + 1;
      let size = locations.sizeOf(i);
      while (j < segmentEnd && size + locations.sizeOf(j) <= readBatchBytes) size += locations.sizeOf(j++);
      const read = await readSegmentEntries(this.#io, segment, locations, i, j);
      for (const e of read.entries) out.push(e);
      bytes += read.bytes;
      i = j;
    }
    return out;
  }
}
