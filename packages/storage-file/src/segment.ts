/**
 * One segment file as the store sees it (first index, logical size, lazily opened handle) and the
 * segment file names. Must never decide what goes into a segment.
 */
import { join } from 'node:path';
import type { FileHandleIO, FileIO } from './file-io.ts';

const SEGMENT_RE = /^(\d{20})\.seg$/;

/** The file name of the segment whose first entry is `firstIndex`. */
export function segmentName(firstIndex: number): string {
  return `${String(firstIndex).padStart(20, '0')}.seg`;
}

/** The first index a segment file name stands for, or `null` if it is not a segment name. */
export function parseSegmentName(name: string): number | null {
  const m = SEGMENT_RE.exec(name);
  return m?.[1] === undefined ? null : Number(m[1]);
}

/**
 * One segment file as the store sees it. `size` is its logical size: header plus the records of
 * every entry placed in it, including those still queued for writing.
 */
export class Segment {
  /** Index of the segment's first entry (also in its name and header). */
  readonly firstIndex: number;
  /** Absolute path. */
  readonly path: string;
  /** Logical size in bytes. */
  size: number;
  /**
   * How far the file is known to reach: past `size`, the bytes up to here are zeros preallocated by
   * the writer (or found at recovery). Never less than what was written.
   */
  allocated: number;
  /** The open handle, once opened (created by the writer, or opened lazily for recovered files). */
  handle: FileHandleIO | null = null;
  #opening: Promise<FileHandleIO> | null = null;
  /** Whether the file is gone (deleted by truncate or purge); no more I/O on it. */
  deleted = false;

  constructor(dir: string, firstIndex: number, size: number) {
    this.firstIndex = firstIndex;
    this.path = join(dir, segmentName(firstIndex));
    this.size = size;
    this.allocated = size;
  }

  /** The handle, opening the existing file read-write if needed. */
  async open(io: FileIO): Promise<FileHandleIO> {
    if (this.handle !== null) return this.handle;
    if (this.#opening === null) {
      this.#opening = io.open(this.path, 'readWrite').then(
        (h) => {
          this.handle = h;
          this.#opening = null;
          return h;
        },
        (err: unknown) => {
          this.#opening = null;
          throw err;
        },
      );
    }
    return this.#opening;
  }

  /** Closes the handle if open (errors are ignored: the file is being dropped or the store closed). */
  async closeHandle(): Promise<void> {
    const h = this.handle ?? (this.#opening === null ? null : await this.#opening.catch(() => null));
    this.handle = null;
    if (h !== null) await h.close().catch(() => undefined);
  }
}
