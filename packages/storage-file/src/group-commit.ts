/**
 * The group-commit writer: the one queue through which every disk write of the log store passes,
 * in the order issued. Consecutive appends become one batch (one write per segment and one
 * `fdatasync`), then their flush callbacks run in order; meta writes, truncates and purges run in
 * their place in the queue, so a flush callback means every earlier write is durable too. After the
 * first I/O error it fails every queued and later write with that error.
 *
 * Owns: the queue, the writer loop, the "lowest unwritten index" fact, the failure state and the
 * write counters. Must never decide where records go (the store lays appends out in segments before
 * queuing them), never touch the index or the tail cache, never reorder writes.
 */
import type { IoFlushed, Logger } from '@flotilla/types';
import { StorageError } from '@flotilla/types';
import { errnoOf } from './errors.ts';
import type { FileIO } from './file-io.ts';
import { encodeMeta, META_FILE, META_TMP_FILE, type MetaState, writeAtomic } from './meta.ts';
import type { Segment } from './segment.ts';

/** Bytes of an append to write at `position` of `segment` (created first when `create`). */
export interface Chunk {
  segment: Segment;
  position: number;
  bytes: Uint8Array;
  create: boolean;
}

/** A queued append: its chunks, the index of its first entry (`Infinity` when empty), its callback. */
export interface AppendWrite {
  kind: 'append';
  chunks: Chunk[];
  first: number;
  onFlushed: IoFlushed;
}
interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}
interface MetaWrite extends Waiter {
  kind: 'meta';
  meta: MetaState;
}
/** A queued truncate: segments to delete, and the tail segment cut to `keepSize`. */
export interface TruncateWrite {
  deleted: Segment[];
  tail: Segment | null;
  keepSize: number;
}
/** A queued purge: the meta (with the new last purged id) written before the segments are deleted. */
export interface PurgeWrite {
  meta: MetaState;
  deleted: Segment[];
}
type Write =
  | AppendWrite
  | MetaWrite
  | (TruncateWrite & Waiter & { kind: 'truncate' })
  | (PurgeWrite & Waiter & { kind: 'purge' });

/** Counters of what the writer did. */
export interface WriterCounters {
  batches: number;
  logSyncs: number;
  metaWrites: number;
  preallocations: number;
}

/** How the writer preallocates: zeros kept ahead of the tail (`bytes`, 0: off), never past `limit`. */
export interface Preallocation {
  bytes: number;
  limit: number;
}

/** Zeros written by preallocation (shared, never modified). */
const ZEROS = new Uint8Array(256 * 1024);

/** See the file comment. */
export class GroupCommitWriter {
  readonly #io: FileIO;
  readonly #dir: string;
  readonly #logger: Logger | undefined;
  readonly #onAppendsWritten: () => void;
  #queue: Write[] = [];
  #writing = false;
  #failure: Error | null = null;
  #idle: (() => void)[] = [];
  /** Appends queued and not written yet, in order (empty ones included). */
  #unwritten: AppendWrite[] = [];
  #unwrittenFrom = Number.POSITIVE_INFINITY;
  readonly #counters: WriterCounters = { batches: 0, logSyncs: 0, metaWrites: 0, preallocations: 0 };
  readonly #preallocation: Preallocation;
  /** The segment the last batch of appends ended in. */
  #tail: Segment | null = null;

  /**
   * `onAppendsWritten` runs after each batch of appends is durable, before their callbacks;
   * `preallocation` says how far to keep zeros ahead of the tail segment's end (default: off).
   */
  constructor(
    io: FileIO,
    dir: string,
    logger: Logger | undefined,
    onAppendsWritten: () => void,
    preallocation: Preallocation = { bytes: 0, limit: 0 },
  ) {
    this.#io = io;
    this.#dir = dir;
    this.#logger = logger;
    this.#onAppendsWritten = onAppendsWritten;
    this.#preallocation = preallocation;
  }

  /** The first I/O error, after which every write fails; `null` while healthy. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** The lowest index placed by an append whose bytes are not written yet (`Infinity`: none). */
  get unwrittenFrom(): number {
    return this.#unwrittenFrom;
  }

  /** A copy of the counters. */
  counters(): WriterCounters {
    return { ...this.#counters };
  }

  /** Queues an append; its `onFlushed` runs once it and every earlier write are durable. */
  append(write: Omit<AppendWrite, 'kind'>): void {
    const op: AppendWrite = { kind: 'append', ...write };
    this.#unwritten.push(op);
    if (op.first < this.#unwrittenFrom) this.#unwrittenFrom = op.first;
    this.#enqueue(op);
  }

  /** Queues an atomic replace of the meta file; consecutive ones write only the last. */
  writeMeta(meta: MetaState): Promise<void> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'meta', meta, resolve, reject }));
  }

  /** Queues a truncate: later segments deleted (durably) first, then the tail cut. */
  truncate(write: TruncateWrite): Promise<void> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'truncate', ...write, resolve, reject }));
  }

  /** Queues a purge: the meta file first, then the segments deleted. */
  purge(write: PurgeWrite): Promise<void> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'purge', ...write, resolve, reject }));
  }

  /** Resolves once every write queued so far has completed (or failed). */
  drain(): Promise<void> {
    if (!this.#writing && this.#queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#idle.push(resolve);
    }).then(() => this.drain());
  }

  #enqueue(op: Write): void {
    this.#queue.push(op);
    if (!this.#writing) {
      this.#writing = true;
      // Let appends issued in the same turn join the first batch.
      queueMicrotask(() => {
        void this.#run();
      });
    }
  }

  async #run(): Promise<void> {
    let batch: Write[] = [];
    let done = 0;
    try {
      while (this.#queue.length > 0 && this.#failure === null) {
        batch = this.#queue;
        this.#queue = [];
        done = 0;
        while (done < batch.length) {
          const op = batch[done] as Write;
          if (op.kind === 'append') {
            let end = done;
            while (end < batch.length && (batch[end] as Write).kind === 'append') end++;
            const run = batch.slice(done, end) as AppendWrite[];
            await this.#writeAppends(run);
            done = end;
            this.#appendsWritten(run.length);
            for (const a of run) this.#callFlushed(a.onFlushed);
            // Between batches only: a write queued meanwhile waits for the zeros, never the reverse.
            if (done === batch.length && this.#queue.length === 0) await this.#preallocate();
          } else if (op.kind === 'meta') {
            let end = done;
            while (end < batch.length && (batch[end] as Write).kind === 'meta') end++;
            const run = batch.slice(done, end) as MetaWrite[];
            await this.#writeMeta((run[run.length - 1] as MetaWrite).meta);
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
      this.#failure = cause;
      const fail = new StorageError('flush', `${errnoOf(cause) ?? ''} ${cause.message}`.trim(), { cause });
      const rest = [...batch.slice(done), ...this.#queue];
      this.#queue = [];
      for (const op of rest) {
        if (op.kind === 'append') this.#callFlushed(op.onFlushed, fail);
        else op.reject(fail);
      }
      this.#unwritten = [];
      this.#unwrittenFrom = Number.POSITIVE_INFINITY;
    } finally {
      this.#writing = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const f of idle) f();
    }
  }

  #callFlushed(onFlushed: IoFlushed, err?: Error): void {
    try {
      if (err === undefined) onFlushed();
      else onFlushed(err);
    } catch (e) {
      this.#logger?.warn('a flush callback threw', { error: String(e) });
    }
  }

  /** The first `count` unwritten appends are durable. */
  #appendsWritten(count: number): void {
    this.#unwritten.splice(0, count);
    let min = Number.POSITIVE_INFINITY;
    for (const a of this.#unwritten) if (a.first < min) min = a.first;
    this.#unwrittenFrom = min;
    this.#onAppendsWritten();
  }

  async #writeAppends(run: AppendWrite[]): Promise<void> {
    // Merge contiguous chunks of the same segment; sync a segment before moving to the next one.
    const groups: {
      segment: Segment;
      position: number;
      end: number;
      parts: Uint8Array[];
      create: boolean;
    }[] = [];
    for (const op of run) {
      for (const c of op.chunks) {
        const g = groups[groups.length - 1];
        if (g !== undefined && g.segment === c.segment && !c.create && g.end === c.position) {
          g.parts.push(c.bytes);
          g.end += c.bytes.byteLength;
        } else {
          const end = c.position + c.bytes.byteLength;
          groups.push({ segment: c.segment, position: c.position, end, parts: [c.bytes], create: c.create });
        }
      }
    }
    let created = false;
    for (const g of groups) {
      if (g.create) {
        await g.segment.closeHandle();
        g.segment.handle = await this.#io.open(g.segment.path, 'createTruncate');
        created = true;
      }
      const h = await g.segment.open(this.#io);
      if (h.writeDurable !== undefined) await h.writeDurable(g.parts, g.position);
      else {
        if (g.parts.length === 1) await h.write(g.parts[0] as Uint8Array, g.position);
        else await h.writev(g.parts, g.position);
        await h.datasync();
      }
      this.#counters.logSyncs++;
    }
    if (created) await this.#io.fsyncDir(this.#dir);
    const last = groups[groups.length - 1];
    if (last !== undefined) {
      this.#tail = last.segment;
      if (last.end > last.segment.allocated) last.segment.allocated = last.end;
    }
    this.#counters.batches++;
  }

  /**
   * Keeps zeros ahead of the tail segment's logical end: when less than half of
   * `preallocation.bytes` is left, writes zeros from the end of what the file holds up to
   * `preallocation.bytes` past the logical end (never past `preallocation.limit`), then makes them
   * and the file's new size durable, so later `O_DSYNC` overwrites need no metadata flush. Zeros go
   * only past the logical size, which counts every queued append: they never cover an entry, and
   * appends queued meanwhile are written after them, in queue order.
   */
  async #preallocate(): Promise<void> {
    const { bytes, limit } = this.#preallocation;
    const segment = this.#tail;
    if (bytes === 0 || segment === null || segment.deleted) return;
    const from = Math.max(segment.allocated, segment.size);
    if (from - segment.size >= bytes / 2) return;
    const to = Math.min(segment.size + bytes, limit);
    if (to <= from) return;
    const parts: Uint8Array[] = [];
    for (let at = from; at < to; at += ZEROS.byteLength)
      parts.push(at + ZEROS.byteLength <= to ? ZEROS : ZEROS.subarray(0, to - at));
    const h = await segment.open(this.#io);
    await h.writev(parts, from);
    await h.datasync();
    if (to > segment.allocated) segment.allocated = to;
    this.#counters.preallocations++;
  }

  async #writeMeta(meta: MetaState): Promise<void> {
    await writeAtomic(this.#io, this.#dir, META_FILE, META_TMP_FILE, encodeMeta(meta));
    this.#counters.metaWrites++;
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
    if (segments.length > 0) await this.#io.fsyncDir(this.#dir);
  }

  async #applyTruncate(op: TruncateWrite): Promise<void> {
    // Remove later segments first (and make that durable), then cut the tail: a crash in between
    // leaves a longer tail segment, never a gap.
    await this.#removeSegments(op.deleted);
    if (op.tail !== null && !op.tail.deleted) {
      const h = await op.tail.open(this.#io);
      await h.truncate(op.keepSize);
      await h.datasync();
      op.tail.allocated = op.keepSize; // preallocated zeros are cut too
    }
  }
}
