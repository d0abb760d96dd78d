/**
 * Recovery at open: reads every segment, verifies every record, cuts a torn tail, refuses corruption
 * in the middle and gaps, and builds the entry locations. A segment's all-zero remainder is space
 * the writer preallocated: its clean end, kept for the next appends. Must never run after the store is open.
 */

import { EntryLocations } from './entry-locations.ts';
import { StoreOpenError } from './errors.ts';
import type { FileIO } from './file-io.ts';
import { readWhole } from './meta.ts';
import { checkRecord, FORMAT_VERSION, parseSegmentHeader, SEGMENT_HEADER_BYTES } from './record.ts';
import { Segment } from './segment.ts';

/** A torn record cut from the tail of the log at open. */
export interface TornTail {
  /** The segment file. */
  file: string;
  /** Where the cut was made. */
  offset: number;
  /** How many bytes were dropped. */
  bytesCut: number;
  /** What was wrong with the first dropped record. */
  reason: string;
}

/** What recovery found and did when the store was opened. */
export interface RecoverySummary {
  /** Segment files in use. */
  segments: number;
  /** Entries indexed (purged entries still on disk excluded). */
  entries: number;
  /** The torn tail that was cut, if any. */
  tornTail: TornTail | null;
  /**
   * Files removed: segments wholly purged (also a last one whose entries are all purged), an empty
   * torn last segment, a stale temp meta file.
   */
  removedFiles: string[];
  /** Wall time of the scan, in milliseconds. */
  durationMs: number;
}

// Reads the msgpack unsigned integer at `at`; returns [value, next] or null.
function readUint(b: Uint8Array, at: number): [number, number] | null {
  const t = b[at];
  if (t === undefined) return null;
  if (t < 0x80) return [t, at + 1];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (at + 9 > b.byteLength && t !== 0xcc && t !== 0xcd && t !== 0xce) return null;
  switch (t) {
    case 0xcc:
      return at + 2 <= b.byteLength ? [v.getUint8(at + 1), at + 2] : null;
    case 0xcd:
      return at + 3 <= b.byteLength ? [v.getUint16(at + 1), at + 3] : null;
    case 0xce:
      return at + 5 <= b.byteLength ? [v.getUint32(at + 1), at + 5] : null;
    case 0xcf:
      return [Number(v.getBigUint64(at + 1)), at + 9];
    case 0xcb: {
      const f = v.getFloat64(at + 1);
      return Number.isSafeInteger(f) && f >= 0 ? [f, at + 9] : null;
    }
    default:
      return null;
  }
}

/** Reads `[term, index]` from the front of an entry body without decoding the rest. */
export function peekTermIndex(body: Uint8Array): { term: number; index: number } | null {
  // A msgpack fixarray of 3, 4 or 6 items (see record.ts: blank, with payload, with a client session).
  const h = body[0];
  if (h !== 0x93 && h !== 0x94 && h !== 0x96) return null;
  const t = readUint(body, 1);
  if (t === null) return null;
  const i = readUint(body, t[1]);
  if (i === null) return null;
  return { term: t[0], index: i[0] };
}

/** Whether every byte of `buf` from `from` on is zero (the preallocated rest of a segment). */
function zeroFrom(buf: Uint8Array, from: number): boolean {
  for (let p = from; p < buf.byteLength; p++) if (buf[p] !== 0) return false;
  return true;
}

function findLaterRecord(buf: Uint8Array, from: number, expected: number): boolean {
  for (let p = from; p + 8 < buf.byteLength; p++) {
    const c = checkRecord(buf, p);
    if (!c.ok) continue;
    const ti = peekTermIndex(c.body);
    if (ti !== null && ti.index >= expected) return true;
  }
  return false;
}

/** The result of scanning a store's segments. */
export interface Recovered {
  /** Live segments, in order. */
  segments: Segment[];
  /** Where each live entry is, starting right after the last purged one. */
  locations: EntryLocations;
  /** What was found. */
  summary: RecoverySummary;
}

/**
 * Scans the segments (sorted first indexes `firsts`), verifies every record and builds the entry locations.
 * Cuts a torn tail of the last segment; throws `StoreOpenError` on anything else.
 */
export async function recoverSegments(
  io: FileIO,
  dir: string,
  firsts: number[],
  purgedNext: number,
): Promise<Recovered> {
  const started = performance.now();
  const locations = new EntryLocations(purgedNext);
  const segments: Segment[] = [];
  const removedFiles: string[] = [];
  let tornTail: TornTail | null = null;
  let expected: number | null = null;

  for (let k = 0; k < firsts.length; k++) {
    const first = firsts[k] ?? 0;
    const seg = new Segment(dir, first, SEGMENT_HEADER_BYTES);
    const isLast = k === firsts.length - 1;
    const nextFirst = firsts[k + 1];
    if (expected === null && nextFirst !== undefined && nextFirst <= purgedNext) {
      // Wholly purged (its unlink was lost or not done yet): drop it unread.
      await io.unlink(seg.path);
      removedFiles.push(seg.path);
      continue;
    }
    const buf = await readWhole(io, seg.path);
    const header = parseSegmentHeader(buf);
    if (!header.ok) {
      if (header.why === 'version' && (header.version ?? 0) > FORMAT_VERSION)
        throw new StoreOpenError('STORE_VERSION', seg.path, 4, `segment format version ${header.version}`);
      const allZero = buf.subarray(0, SEGMENT_HEADER_BYTES).every((b) => b === 0);
      if (isLast && (header.why === 'short' || allZero) && !findLaterRecord(buf, 0, 0)) {
        // A segment whose creation was torn: nothing in it was ever acknowledged.
        await io.unlink(seg.path);
        removedFiles.push(seg.path);
        tornTail = {
          file: seg.path,
          offset: 0,
          bytesCut: buf.byteLength,
          reason: `segment header ${header.why}`,
        };
        break;
      }
      throw new StoreOpenError('STORE_CORRUPT', seg.path, 0, `bad segment header (${header.why})`);
    }
    if (header.firstIndex !== first)
      throw new StoreOpenError('STORE_CORRUPT', seg.path, 8, `header says first index ${header.firstIndex}`);
    if (expected === null) {
      if (first > purgedNext)
        throw new StoreOpenError(
          'STORE_GAP',
          seg.path,
          0,
          `the log starts at ${first} but entries from ${purgedNext} are not purged`,
        );
    } else if (first !== expected) {
      throw new StoreOpenError('STORE_GAP', seg.path, 0, `segment starts at ${first}, expected ${expected}`);
    }
    let at = SEGMENT_HEADER_BYTES;
    let idx: number = first;
    let zeroTail = false;
    while (at < buf.byteLength) {
      const c = checkRecord(buf, at);
      if (!c.ok) {
        // Zeros to the end of the file: space the writer preallocated, the segment's clean end
        // (in any segment: the next one's first index still has to follow on, or it is a gap).
        if (zeroFrom(buf, at)) {
          zeroTail = true;
          break;
        }
        if (isLast && !findLaterRecord(buf, at + 1, idx)) {
          tornTail = { file: seg.path, offset: at, bytesCut: buf.byteLength - at, reason: c.why };
          break;
        }
        throw new StoreOpenError('STORE_CORRUPT', seg.path, at, `bad record (${c.why}) for entry ${idx}`);
      }
      const ti = peekTermIndex(c.body);
      if (ti === null || ti.index !== idx)
        throw new StoreOpenError(
          'STORE_CORRUPT',
          seg.path,
          at,
          ti === null ? 'record is not an entry' : `record holds entry ${ti.index}, expected ${idx}`,
        );
      if (idx >= purgedNext) locations.push(ti.term, at, c.size);
      at += c.size;
      idx++;
    }
    if (isLast && expected === null && idx <= purgedNext) {
      // Every entry it holds is purged (a purge up to or beyond the last entry whose unlinks were
      // lost or not done yet): drop it, so the next append starts a new segment at `purgedNext`.
      await io.unlink(seg.path);
      removedFiles.push(seg.path);
      break;
    }
    if (tornTail !== null) {
      const fh = await io.open(seg.path, 'readWrite');
      try {
        await fh.truncate(tornTail.offset);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    }
    if (!isLast && idx === first)
      throw new StoreOpenError('STORE_CORRUPT', seg.path, at, 'a segment before the last one is empty');
    seg.size = at;
    if (zeroTail) seg.allocated = buf.byteLength;
    segments.push(seg);
    expected = idx;
  }
  if (removedFiles.length > 0) await io.fsyncDir(dir);
  return {
    segments,
    locations,
    summary: {
      segments: segments.length,
      entries: locations.length,
      tornTail,
      removedFiles,
      durationMs: performance.now() - started,
    },
  };
}
