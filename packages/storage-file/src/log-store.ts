import { join, resolve } from 'node:path';
import type {
  Entry,
  IoFlushed,
  Logger,
  LogId,
  LogState,
  RaftLogReader,
  RaftLogStorage,
  Vote,
} from '@flotilla/types';
import { formatLogId, nextIndex, StorageError, StorageMisuseError } from '@flotilla/types';
import { errnoOf, StoreOpenError } from './errors.ts';
import { type FileIO, nodeFileIO } from './file-io.ts';
import { acquireLock, type HeldLock, LOCK_FILE } from './lock.ts';
import type { LogIndex } from './log-index.ts';
import {
  decodeMeta,
  encodeMeta,
  META_FILE,
  META_TMP_FILE,
  type MetaState,
  openIoError,
  readWhole,
  writeAtomic,
} from './meta.ts';
import {
  checkRecord,
  decodeEntryBody,
  encodeEntryBody,
  frameRecords,
  SEGMENT_HEADER_BYTES,
  segmentHeader,
} from './record.ts';
import { type RecoverySummary, recoverSegments } from './recovery.ts';
import { parseSegmentName, Segment } from './segment.ts';

/** Options of {@link fileLogStore}. */
export interface FileLogStoreOptions {
  /** A segment is rolled once adding a record would take it past this size. Default 64 MiB. */
  segmentBytes?: number;
  /** Most entries kept in the tail cache (unwritten entries are always kept). Default 8192. */
  cacheEntries?: number;
  /** Most payload bytes kept in the tail cache. Default 32 MiB. */
  cacheBytes?: number;
  /** Most bytes `limitedGetLogEntries` reads from disk in one call. Default 4 MiB. */
  readBatchBytes?: number;
  /** Whether `saveCommitted` persists (one extra meta write per call). Default `true`. */
  persistCommitted?: boolean;
  /**
   * Background persistence of the committed log id. When set, `saveCommitted` resolves at once
   * and the latest id is written at most once per this many milliseconds, always after every write
   * queued before the call (so it never names an entry that is not durable), and on `sync`/`close`.
   * This takes the meta file's replace (two syncs and a directory sync) off the write path: with
   * the Raft runtime, which orders `saveCommitted` with appends and applies after it, a durable
   * save per commit costs most of a write's latency. A crash may lose the ids saved in the last
   * interval: a restart then re-applies fewer entries until a leader reports the commit again
   * (the committed id is a hint for recovery; no vote or entry is ever at risk). Integer in
   * [0, 60 000]. Default: unset, every `saveCommitted` is durable when it resolves.
   */
  committedFlushMs?: number;
  /** Create the directory and an empty store when missing or empty. Default `true`. */
  create?: boolean;
  /** File-system access; inject `CrashFileIO` or a faulty one in tests. Default: `node:fs`. */
  io?: FileIO;
  /** Where to report warnings. Default: nowhere. */
  logger?: Logger;
}

/** Counters for benchmarks and metrics. */
export interface FileLogStoreStats {
  /** Segment files in use. */
  segments: number;
  /** Entries in the log (not counting purged ones). */
  entries: number;
  /** Bytes held by the in-memory index. */
  indexBytes: number;
  /** Entries in the tail cache. */
  cachedEntries: number;
  /** Group-commit batches written so far. */
  batches: number;
  /** `fdatasync` calls made for log writes so far. */
  logSyncs: number;
  /** Meta file writes so far. */
  metaWrites: number;
}

interface Chunk {
  seg: Segment;
  position: number;
  bytes: Uint8Array;
  create: boolean;
}
interface AppendOp {
  kind: 'append';
  chunks: Chunk[];
  first: number;
  onFlushed: IoFlushed;
}
interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}
interface MetaOp extends Waiter {
  kind: 'meta';
  meta: MetaState;
}
interface TruncateOp extends Waiter {
  kind: 'truncate';
  deleted: Segment[];
  tail: Segment | null;
  keepSize: number;
}
interface PurgeOp extends Waiter {
  kind: 'purge';
  meta: MetaState;
  deleted: Segment[];
}
type Op = AppendOp | MetaOp | TruncateOp | PurgeOp;

const DEFAULTS = {
  segmentBytes: 64 * 1024 * 1024,
  cacheEntries: 8192,
  cacheBytes: 32 * 1024 * 1024,
  readBatchBytes: 4 * 1024 * 1024,
};
const ENTRY_OVERHEAD = 64;

function checkPositive(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`fileLogStore: ${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

function resolveOptions(options: FileLogStoreOptions) {
  return {
    segmentBytes: checkPositive('segmentBytes', options.segmentBytes, DEFAULTS.segmentBytes, 64, 2 ** 31),
    cacheEntries: checkPositive('cacheEntries', options.cacheEntries, DEFAULTS.cacheEntries, 0, 2 ** 30),
    cacheBytes: checkPositive('cacheBytes', options.cacheBytes, DEFAULTS.cacheBytes, 0, 2 ** 40),
    readBatchBytes: checkPositive(
      'readBatchBytes',
      options.readBatchBytes,
      DEFAULTS.readBatchBytes,
      1,
      2 ** 30,
    ),
    committedFlushMs:
      options.committedFlushMs === undefined
        ? undefined
        : checkPositive('committedFlushMs', options.committedFlushMs, 0, 0, 60_000),
  };
}

function entryCost(e: Entry): number {
  const p = e.payload;
  return ENTRY_OVERHEAD + (p.type === 'normal' ? p.data.byteLength : 0);
}

/**
 * Opens (or creates) the file log store in `dir`: takes the directory lock, reads the meta file,
 * scans and verifies every segment, cuts a torn tail and builds the index.
 *
 * @throws {StoreOpenError} `NOT_A_STORE`, `STORE_LOCKED`, `STORE_VERSION`, `STORE_CORRUPT`,
 *   `STORE_GAP`, `STORE_ACCESS` or `STORE_IO`, naming the file and offset at fault.
 */
export async function fileLogStore(dir: string, options: FileLogStoreOptions = {}): Promise<FileLogStore> {
  resolveOptions(options); // refuse bad options before touching the directory
  const root = resolve(dir);
  const io = options.io ?? nodeFileIO;
  const create = options.create ?? true;
  let names: string[];
  try {
    names = await io.readdir(root);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw openIoError(err, root, 'listing the directory');
    if (!create)
      throw new StoreOpenError('NOT_A_STORE', root, null, 'no store here (the directory is missing)');
    try {
      await io.mkdir(root);
    } catch (e) {
      throw openIoError(e, root, 'creating the directory');
    }
    names = [];
  }
  const hasMeta = names.includes(META_FILE);
  const segFirsts = names
    .map(parseSegmentName)
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  if (!hasMeta) {
    const other = names.filter((n) => n !== LOCK_FILE && n !== META_TMP_FILE);
    if (other.length > 0)
      throw new StoreOpenError(
        segFirsts.length > 0 ? 'STORE_CORRUPT' : 'NOT_A_STORE',
        root,
        null,
        segFirsts.length > 0
          ? 'segments without a meta file'
          : `not a flotilla log store (has ${other.slice(0, 3).join(', ')}${other.length > 3 ? ', …' : ''})`,
      );
    if (!create)
      throw new StoreOpenError('NOT_A_STORE', root, null, 'no store here (the directory is empty)');
  }
  let lock: HeldLock;
  try {
    lock = await acquireLock(io, root);
  } catch (err) {
    throw openIoError(err, join(root, LOCK_FILE), 'taking the lock');
  }
  const metaPath = join(root, META_FILE);
  try {
    if (!hasMeta) {
      await writeAtomic(
        io,
        root,
        META_FILE,
        META_TMP_FILE,
        encodeMeta({ vote: null, committed: null, lastPurged: null }),
      );
    }
    const meta = decodeMeta(await readWhole(io, metaPath), metaPath);
    const removed: string[] = [];
    if (hasMeta && names.includes(META_TMP_FILE)) {
      await io.unlink(join(root, META_TMP_FILE));
      removed.push(join(root, META_TMP_FILE));
    }
    const rec = await recoverSegments(io, root, segFirsts, nextIndex(meta.lastPurged));
    rec.summary.removedFiles.unshift(...removed);
    return new FileLogStore(root, io, options, lock, meta, rec.segments, rec.index, rec.summary);
  } catch (err) {
    await lock.release().catch(() => undefined);
    throw openIoError(err, metaPath, 'opening the store');
  }
}

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
  readonly #logger: Logger | undefined;
  readonly #segmentBytes: number;
  readonly #cacheMaxEntries: number;
  readonly #cacheMaxBytes: number;
  readonly #readBatchBytes: number;
  readonly #persistCommitted: boolean;
  readonly #committedFlushMs: number | undefined;
  // Background committed persistence: a newer id than the meta file's, and the timer that writes it.
  #committedDirty = false;
  #committedTimer: ReturnType<typeof setTimeout> | undefined;

  #meta: MetaState;
  #segments: Segment[];
  #index: LogIndex;
  #generation = 0;

  // Tail cache: entries [cacheStart, index.next), as a deque from #cacheHead.
  #cache: Entry[] = [];
  #cacheCost: number[] = [];
  #cacheHead = 0;
  #cacheStart: number;
  #cacheBytes = 0;
  // Lowest index placed by an append whose bytes are not written yet (Infinity: none).
  #unwrittenFrom = Number.POSITIVE_INFINITY;
  #inflightAppends: AppendOp[] = [];

  #queue: Op[] = [];
  #writing = false;
  #failed: Error | null = null;
  #closed = false;
  #idle: (() => void)[] = [];
  #stats = { batches: 0, logSyncs: 0, metaWrites: 0 };

  /** @internal Use {@link fileLogStore}. */
  constructor(
    dir: string,
    io: FileIO,
    options: FileLogStoreOptions,
    lock: HeldLock,
    meta: MetaState,
    segments: Segment[],
    index: LogIndex,
    recovery: RecoverySummary,
  ) {
    this.dir = dir;
    this.#io = io;
    this.#lock = lock;
    this.#logger = options.logger;
    const o = resolveOptions(options);
    this.#segmentBytes = o.segmentBytes;
    this.#cacheMaxEntries = o.cacheEntries;
    this.#cacheMaxBytes = o.cacheBytes;
    this.#readBatchBytes = o.readBatchBytes;
    this.#persistCommitted = options.persistCommitted ?? true;
    this.#committedFlushMs = o.committedFlushMs;
    this.#meta = meta;
    this.#segments = segments;
    this.#index = index;
    this.#cacheStart = index.next;
    this.recovery = recovery;
  }

  // ------------------------------------------------------------------ state

  #lastLogId(): LogId | null {
    const ix = this.#index;
    if (ix.length === 0) return this.#meta.lastPurged;
    return { term: ix.termOf(ix.next - 1), index: ix.next - 1 };
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
      entries: this.#index.length,
      indexBytes: this.#index.memoryBytes(),
      cachedEntries: this.#cache.length - this.#cacheHead,
      ...this.#stats,
    };
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageMisuseError('Closed', 'the file log store is closed');
  }

  #checkWritable(): void {
    this.#checkOpen();
    if (this.#failed !== null)
      throw new StorageError(
        'write',
        `the store refuses writes after an I/O error: ${this.#failed.message}`,
        {
          cause: this.#failed,
        },
      );
  }

  // ------------------------------------------------------------------ writes

  /** Saves the vote; resolves once it is durable (meta file replaced atomically). */
  async saveVote(vote: Vote): Promise<void> {
    this.#checkWritable();
    this.#meta = { ...this.#meta, vote: { term: vote.term, nodeId: vote.nodeId, committed: vote.committed } };
    this.#committedDirty = false; // this meta write carries the latest committed id too
    await this.#enqueueWaiting<MetaOp>({ kind: 'meta', meta: this.#meta });
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
    if (!this.#persistCommitted) return;
    const ms = this.#committedFlushMs;
    if (ms === undefined) {
      await this.#enqueueWaiting<MetaOp>({ kind: 'meta', meta: this.#meta });
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
    if (!this.#committedDirty || this.#closed || this.#failed !== null) return Promise.resolve();
    this.#committedDirty = false;
    return this.#enqueueWaiting<MetaOp>({ kind: 'meta', meta: this.#meta });
  }

  /**
   * Appends entries continuing the log. Resolves as soon as they are readable (in the tail cache);
   * `onFlushed` is called once their batch is written and `fdatasync`ed, after every earlier write.
   */
  async append(entries: readonly Entry[], onFlushed: IoFlushed): Promise<void> {
    this.#checkWritable();
    if (entries.length === 0) {
      this.#enqueue({ kind: 'append', chunks: [], first: Number.POSITIVE_INFINITY, onFlushed });
      return;
    }
    const expected = nextIndex(this.#lastLogId());
    let want = expected;
    for (const e of entries) {
      if (e.logId.index !== want)
        throw new StorageMisuseError(
          want === expected && e.logId.index > want ? 'Hole' : 'NotConsecutive',
          `append: entry ${formatLogId(e.logId)} where index ${want} was expected`,
        );
      want++;
    }
    const bodies = entries.map(encodeEntryBody);
    const { bytes, sizes } = frameRecords(bodies);
    const chunks: Chunk[] = [];
    let tail = this.#segments[this.#segments.length - 1];
    let from = 0; // start in `bytes` of the current chunk
    let pos = 0;
    let chunkSeg: Segment | null = null;
    let chunkCreate = false;
    let chunkPos = 0;
    const flush = (to: number) => {
      if (chunkSeg === null || to === from) return;
      const body = bytes.subarray(from, to);
      const b = chunkCreate ? concat(segmentHeader(chunkSeg.firstIndex), body) : body;
      chunks.push({ seg: chunkSeg, position: chunkPos, bytes: b, create: chunkCreate });
      from = to;
    };
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k] as Entry;
      const size = sizes[k] ?? 0;
      if (tail === undefined || (tail.size > SEGMENT_HEADER_BYTES && tail.size + size > this.#segmentBytes)) {
        flush(pos);
        tail = new Segment(this.dir, e.logId.index, SEGMENT_HEADER_BYTES);
        this.#segments.push(tail);
        chunkSeg = tail;
        chunkCreate = true;
        chunkPos = 0;
      } else if (chunkSeg === null) {
        chunkSeg = tail;
        chunkCreate = false;
        chunkPos = tail.size;
      }
      this.#index.push(e.logId.term, tail.size, size);
      tail.size += size;
      pos += size;
    }
    flush(pos);
    // Cache every new entry; they stay until written.
    if (this.#cache.length - this.#cacheHead === 0) this.#cacheStart = expected;
    for (const e of entries) {
      const c = entryCost(e);
      this.#cache.push(e);
      this.#cacheCost.push(c);
      this.#cacheBytes += c;
    }
    const op: AppendOp = { kind: 'append', chunks, first: expected, onFlushed };
    this.#inflightAppends.push(op);
    if (expected < this.#unwrittenFrom) this.#unwrittenFrom = expected;
    this.#enqueue(op);
    this.#evict();
  }

  /**
   * Deletes every entry with index `>= since.index`. Takes effect for readers at once; resolves once
   * it is durable, after every earlier write.
   */
  async truncate(since: LogId): Promise<void> {
    this.#checkWritable();
    const i = since.index;
    const ix = this.#index;
    if (i < ix.first)
      throw new StorageMisuseError(
        'PurgedRange',
        `truncate(${formatLogId(since)}): entries below ${ix.first} are purged`,
      );
    if (i > ix.next)
      throw new StorageMisuseError(
        'TruncateBeyondEnd',
        `truncate(${formatLogId(since)}): the log ends at ${ix.next - 1}`,
      );
    if (i === ix.next) return;
    const deleted: Segment[] = [];
    while (
      this.#segments.length > 0 &&
      (this.#segments[this.#segments.length - 1] as Segment).firstIndex >= i
    )
      deleted.push(this.#segments.pop() as Segment);
    const tail = this.#segments[this.#segments.length - 1] ?? null;
    // When `i` starts a deleted segment, the new tail is left whole; otherwise `i` is in the tail.
    const lowestDeleted = deleted[deleted.length - 1];
    const keepSize = lowestDeleted?.firstIndex === i || tail === null ? (tail?.size ?? 0) : ix.offsetOf(i);
    if (tail !== null) tail.size = keepSize;
    ix.truncate(i);
    this.#generation++;
    const cacheLen = this.#cache.length - this.#cacheHead;
    const keep = Math.max(0, i - this.#cacheStart);
    for (let k = cacheLen - 1; k >= keep; k--) {
      this.#cacheBytes -= this.#cacheCost.pop() ?? 0;
      this.#cache.pop();
    }
    // Resolves once the writer has made it durable, after every earlier write (writes are ordered).
    await new Promise<void>((resolve, reject) => {
      this.#enqueue({ kind: 'truncate', deleted, tail, keepSize, resolve, reject });
    });
  }

  /**
   * Deletes every entry with index `<= upto.index` (whole segments on disk) and records `upto` as
   * the last purged id. `upto` may lie beyond the last entry (a snapshot install past the log):
   * every segment goes, `upto` becomes the last log id too, and the next append starts a new
   * segment at `upto.index + 1`. On disk the purged id is written to the meta file before any
   * segment is deleted, so recovery after a crash part-way drops the leftovers. Resolves once
   * durable, like {@link truncate}.
   */
  async purge(upto: LogId): Promise<void> {
    this.#checkWritable();
    const ix = this.#index;
    if (upto.index < ix.first) return;
    const nextLive = upto.index + 1;
    const deleted: Segment[] = [];
    while (this.#segments.length > 0) {
      const s = this.#segments[0] as Segment;
      const after = this.#segments[1];
      const lastOfS = after === undefined ? ix.next - 1 : after.firstIndex - 1;
      if (lastOfS >= nextLive) break;
      deleted.push(s);
      this.#segments.shift();
    }
    ix.purge(nextLive);
    this.#generation++;
    while (this.#cacheStart < nextLive && this.#cache.length > this.#cacheHead) this.#cacheDropFront();
    if (this.#cache.length === this.#cacheHead) this.#cacheStart = Math.max(this.#cacheStart, nextLive);
    this.#meta = { ...this.#meta, lastPurged: { term: upto.term, index: upto.index } };
    this.#committedDirty = false; // this meta write carries the latest committed id too
    const meta = this.#meta;
    await new Promise<void>((resolve, reject) => {
      this.#enqueue({ kind: 'purge', meta, deleted, resolve, reject });
    });
  }

  #cacheDropFront(): void {
    this.#cacheBytes -= this.#cacheCost[this.#cacheHead] ?? 0;
    this.#cache[this.#cacheHead] = undefined as unknown as Entry;
    this.#cacheHead++;
    this.#cacheStart++;
    if (this.#cacheHead > 1024 && this.#cacheHead * 2 > this.#cache.length) {
      this.#cache = this.#cache.slice(this.#cacheHead);
      this.#cacheCost = this.#cacheCost.slice(this.#cacheHead);
      this.#cacheHead = 0;
    }
  }

  #evict(): void {
    while (
      this.#cache.length > this.#cacheHead &&
      this.#cacheStart < this.#unwrittenFrom &&
      (this.#cache.length - this.#cacheHead > this.#cacheMaxEntries || this.#cacheBytes > this.#cacheMaxBytes)
    )
      this.#cacheDropFront();
  }

  #enqueue(op: Op): void {
    this.#queue.push(op);
    if (!this.#writing) {
      this.#writing = true;
      // Let appends issued in the same turn join the first batch.
      queueMicrotask(() => {
        void this.#runWriter();
      });
    }
  }

  #enqueueWaiting<T extends MetaOp | TruncateOp | PurgeOp>(op: Omit<T, 'resolve' | 'reject'>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#enqueue({ ...op, resolve, reject } as unknown as Op);
    });
  }

  // ------------------------------------------------------------------ the writer

  async #runWriter(): Promise<void> {
    let batch: Op[] = [];
    let done = 0;
    try {
      while (this.#queue.length > 0 && this.#failed === null) {
        batch = this.#queue;
        this.#queue = [];
        done = 0;
        while (done < batch.length) {
          const op = batch[done] as Op;
          if (op.kind === 'append') {
            let end = done;
            while (end < batch.length && (batch[end] as Op).kind === 'append') end++;
            const run = batch.slice(done, end) as AppendOp[];
            await this.#writeAppends(run);
            done = end;
            this.#appendsWritten(run.length);
            for (const a of run) this.#callFlushed(a.onFlushed);
          } else if (op.kind === 'meta') {
            let end = done;
            while (end < batch.length && (batch[end] as Op).kind === 'meta') end++;
            const last = batch[end - 1] as MetaOp;
            await this.#writeMeta(last.meta);
            const run = batch.slice(done, end) as MetaOp[];
            done = end;
            for (const m of run) m.resolve();
          } else if (op.kind === 'truncate') {
            await this.#applyTruncate(op);
            done++;
            op.resolve();
          } else {
            await this.#writeMeta(op.meta);
            await this.#removeSegments(op.deleted);
            done++;
            op.resolve();
          }
        }
      }
    } catch (err) {
      const cause = err instanceof Error ? err : new Error(String(err));
      this.#failed = cause;
      const fail = new StorageError('flush', `${errnoOf(cause) ?? ''} ${cause.message}`.trim(), { cause });
      const rest = [...batch.slice(done), ...this.#queue];
      this.#queue = [];
      for (const op of rest) {
        if (op.kind === 'append') this.#callFlushed(op.onFlushed, fail);
        else op.reject(fail);
      }
      this.#inflightAppends = [];
    } finally {
      this.#writing = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const f of idle) f();
    }
  }

  #callFlushed(cb: IoFlushed, err?: Error): void {
    try {
      if (err === undefined) cb();
      else cb(err);
    } catch (e) {
      this.#logger?.warn('a flush callback threw', { error: String(e) });
    }
  }

  #appendsWritten(n: number): void {
    this.#inflightAppends.splice(0, n);
    let min = Number.POSITIVE_INFINITY;
    for (const a of this.#inflightAppends) if (a.first < min) min = a.first;
    this.#unwrittenFrom = min;
    this.#evict();
  }

  async #writeAppends(run: AppendOp[]): Promise<void> {
    // Merge contiguous chunks of the same segment; sync a segment before moving to the next one.
    const groups: { seg: Segment; position: number; end: number; parts: Uint8Array[]; create: boolean }[] =
      [];
    for (const op of run) {
      for (const c of op.chunks) {
        const g = groups[groups.length - 1];
        if (g !== undefined && g.seg === c.seg && !c.create && g.end === c.position) {
          g.parts.push(c.bytes);
          g.end += c.bytes.byteLength;
        } else {
          const end = c.position + c.bytes.byteLength;
          groups.push({ seg: c.seg, position: c.position, end, parts: [c.bytes], create: c.create });
        }
      }
    }
    let created = false;
    for (const g of groups) {
      if (g.create) {
        await g.seg.closeHandle();
        g.seg.handle = await this.#io.open(g.seg.path, 'createTruncate');
        created = true;
      }
      const h = await g.seg.open(this.#io);
      if (g.parts.length === 1) await h.write(g.parts[0] as Uint8Array, g.position);
      else await h.writev(g.parts, g.position);
      await h.datasync();
      this.#stats.logSyncs++;
    }
    if (created) await this.#io.fsyncDir(this.dir);
    this.#stats.batches++;
  }

  async #writeMeta(meta: MetaState): Promise<void> {
    await writeAtomic(this.#io, this.dir, META_FILE, META_TMP_FILE, encodeMeta(meta));
    this.#stats.metaWrites++;
  }

  /**
   * Marks `segments` deleted, closes and unlinks their files (one already gone is fine), then makes
   * the removals durable with one directory sync (none when `segments` is empty).
   */
  async #removeSegments(segments: Segment[]): Promise<void> {
    for (const s of segments) {
      s.deleted = true;
      await s.closeHandle();
      await this.#io.unlink(s.path).catch((err: unknown) => {
        if (errnoOf(err) !== 'ENOENT') throw err;
      });
    }
    if (segments.length > 0) await this.#io.fsyncDir(this.dir);
  }

  async #applyTruncate(op: TruncateOp): Promise<void> {
    // Remove later segments first (and make that durable), then cut the tail: a crash in between
    // leaves a longer tail segment, never a gap.
    await this.#removeSegments(op.deleted);
    if (op.tail !== null && !op.tail.deleted) {
      const h = await op.tail.open(this.#io);
      await h.truncate(op.keepSize);
      await h.datasync();
    }
  }

  /** Resolves once every write queued so far has completed (or failed). */
  #drain(): Promise<void> {
    if (!this.#writing && this.#queue.length === 0) return Promise.resolve();
    return new Promise<void>((res) => {
      this.#idle.push(res);
    }).then(() => this.#drain());
  }

  /**
   * Resolves once every write issued so far is durable (a committed id saved in the background
   * included); rejects with the store's I/O error if it has failed.
   */
  async sync(): Promise<void> {
    await this.#flushCommitted().catch(() => undefined);
    await this.#drain();
    this.#checkWritable();
  }

  /**
   * Waits for queued writes, closes every file and releases the lock. Later calls are refused
   * with a `StorageMisuseError` (`Closed`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#flushCommitted().catch(() => undefined);
    await this.#drain();
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
        const ix = this.#index;
        if (first.index < ix.first || last.index >= ix.next || first.index > last.index)
          throw new StorageMisuseError(
            'PurgedRange',
            `getKeyLogIds(${formatLogId(first)}, ${formatLogId(last)}): not within [${ix.first}, ${ix.next - 1}]`,
          );
        const out = ix.termEnds(first.index, last.index);
        if (out.length > 0) out[out.length - 1] = { term: last.term, index: last.index };
        return out;
      },
    };
  }

  #segmentFor(index: number): Segment | undefined {
    const segs = this.#segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((segs[mid] as Segment).firstIndex <= index) lo = mid;
      else hi = mid - 1;
    }
    return segs[lo];
  }

  async #read(start: number, end: number, limited: boolean): Promise<Entry[]> {
    for (let attempt = 0; ; attempt++) {
      this.#checkOpen();
      const gen = this.#generation;
      try {
        return await this.#readOnce(start, end, limited);
      } catch (err) {
        // A truncate or purge raced with the read and removed what it was reading: read again.
        if (gen !== this.#generation && attempt < 5) continue;
        if (err instanceof StorageError || err instanceof StorageMisuseError) throw err;
        throw new StorageError('read', `reading entries [${start}, ${end}): ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }

  async #readOnce(start: number, end: number, limited: boolean): Promise<Entry[]> {
    const ix = this.#index;
    const lo = Math.max(start, ix.first);
    const hi = Math.min(end, ix.next);
    const out: Entry[] = [];
    let i = lo;
    let bytes = 0;
    while (i < hi) {
      if (i >= this.#cacheStart) {
        const base = this.#cacheHead - this.#cacheStart;
        for (; i < hi; i++) out.push(this.#cache[base + i] as Entry);
        break;
      }
      if (limited && out.length > 0 && bytes >= this.#readBatchBytes) break;
      const seg = this.#segmentFor(i);
      if (seg === undefined) throw new Error(`no segment holds entry ${i}`);
      const segEnd = Math.min(
        hi,
        this.#cacheStart,
        this.#segments[this.#segments.indexOf(seg) + 1]?.firstIndex ?? hi,
      );
      // Read up to readBatchBytes at a time (at least one record).
      const from = ix.offsetOf(i);
      let j = i;
      let to = from;
      while (j < segEnd && (j === i || to - from + ix.sizeOf(j) <= this.#readBatchBytes)) {
        to += ix.sizeOf(j);
        j++;
      }
      const h = await seg.open(this.#io);
      const buf = new Uint8Array(to - from);
      const n = await h.read(buf, 0, buf.byteLength, from);
      if (n !== buf.byteLength) throw new Error(`short read in ${seg.path} at ${from}`);
      let at = 0;
      for (let k = i; k < j; k++) {
        const c = checkRecord(buf, at);
        if (!c.ok)
          throw new StorageError('read', `corrupt record (${c.why}) in ${seg.path} at offset ${from + at}`);
        const e = decodeEntryBody(c.body);
        if (e.logId.index !== k || e.logId.term !== ix.termOf(k))
          throw new StorageError(
            'read',
            `${seg.path} at offset ${from + at} holds ${formatLogId(e.logId)}, not entry ${k}`,
          );
        out.push(e);
        at += c.size;
      }
      bytes += buf.byteLength;
      i = j;
    }
    return out;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
