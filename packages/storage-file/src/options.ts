/**
 * The file log store's options and counters: their public types, their defaults and the check that
 * refuses a bad value with a `RangeError` naming it. Every default lives here and nowhere else.
 * Never touches the file system, never keeps state.
 */
import type { Logger } from '@flotilla/types';
import type { FileIO } from './file-io.ts';

/** Options of {@link fileLogStore}. */
export interface FileLogStoreOptions {
  /** A segment is rolled once adding a record would take it past this size. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * Bytes of zeros written ahead of the log's end in the tail segment, in the background (between
   * batches, never inside one), and made durable with one `fdatasync`: a batch then overwrites
   * blocks the file already has, so its `O_DSYNC` write needs no metadata flush (the file's size
   * does not change), which takes a good part off every durable write. The zeros are refilled
   * when less than half of them is left, never past `segmentBytes`; recovery reads an all-zero
   * remainder of a segment as its clean end. `0` turns it off. Integer in [0, 2^30]. Default 1 MiB.
   */
  preallocateBytes?: number;
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
  /**
   * File-system access. Default: `node:fs`. Tests inject `CrashFileIO` (from
   * `@flotilla/storage-file/testing`) or a faulty implementation.
   */
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
  /** Bytes held by the in-memory index (the entry locations). */
  indexBytes: number;
  /** Entries in the tail cache. */
  cachedEntries: number;
  /** Group-commit batches written so far. */
  batches: number;
  /** `fdatasync` calls made for log writes so far. */
  logSyncs: number;
  /** Meta file writes so far. */
  metaWrites: number;
  /** Zero fills written ahead of the tail segment so far (see `preallocateBytes`). */
  preallocations: number;
}

/** The numeric options after defaults and range checks. */
export interface ResolvedOptions {
  segmentBytes: number;
  preallocateBytes: number;
  cacheEntries: number;
  cacheBytes: number;
  readBatchBytes: number;
  persistCommitted: boolean;
  committedFlushMs: number | undefined;
}

const DEFAULTS = {
  segmentBytes: 64 * 1024 * 1024,
  preallocateBytes: 1024 * 1024,
  cacheEntries: 8192,
  cacheBytes: 32 * 1024 * 1024,
  readBatchBytes: 4 * 1024 * 1024,
} as const;

function integerIn(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`fileLogStore: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

/**
 * Applies the defaults and checks every numeric option.
 *
 * @throws {RangeError} naming the first option out of range.
 */
export function resolveOptions(options: FileLogStoreOptions): ResolvedOptions {
  return {
    segmentBytes: integerIn('segmentBytes', options.segmentBytes, DEFAULTS.segmentBytes, 64, 2 ** 31),
    preallocateBytes: integerIn(
      'preallocateBytes',
      options.preallocateBytes,
      DEFAULTS.preallocateBytes,
      0,
      2 ** 30,
    ),
    cacheEntries: integerIn('cacheEntries', options.cacheEntries, DEFAULTS.cacheEntries, 0, 2 ** 30),
    cacheBytes: integerIn('cacheBytes', options.cacheBytes, DEFAULTS.cacheBytes, 0, 2 ** 40),
    readBatchBytes: integerIn('readBatchBytes', options.readBatchBytes, DEFAULTS.readBatchBytes, 1, 2 ** 30),
    persistCommitted: options.persistCommitted ?? true,
    committedFlushMs:
      options.committedFlushMs === undefined
        ? undefined
        : integerIn('committedFlushMs', options.committedFlushMs, 0, 0, 60_000),
  };
}
