/**
 * The on-disk format: segment headers and checksummed records of msgpack-encoded entries. Pure
 * encoding and checking; must never do I/O.
 */
import { crc32 } from 'node:zlib';
import type { Entry, Membership } from '@flotilla/types';
import { Packr } from 'msgpackr';

/** The on-disk format version this code writes (segments and meta). */
export const FORMAT_VERSION = 1;
/** Bytes before each record's body: u32 body length, u32 CRC32 of the body. */
export const RECORD_HEADER_BYTES = 8;
/** Bytes of a segment header: magic `FLSG`, u32 format version, f64 first index. */
export const SEGMENT_HEADER_BYTES = 16;
/** Largest record body accepted when reading (guards against a corrupt length). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

const SEGMENT_MAGIC = 0x464c5347; // 'FLSG'
const KIND_BLANK = 0;
const KIND_NORMAL = 1;
const KIND_MEMBERSHIP = 2;

// Entries are encoded as a fixed tuple [term, index, kind, payload?]; no records/structures so the
// bytes decode the same in any process, and `Uint8Array` data stays binary.
const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encodes one entry as a msgpack body. */
export function encodeEntryBody(entry: Entry): Uint8Array {
  const { term, index } = entry.logId;
  const p = entry.payload;
  switch (p.type) {
    case 'blank':
      return packr.pack([term, index, KIND_BLANK]);
    case 'normal':
      return packr.pack([term, index, KIND_NORMAL, p.data]);
    case 'membership':
      return packr.pack([term, index, KIND_MEMBERSHIP, p.membership]);
  }
}

/** Thrown by {@link decodeEntryBody} when a body that passed its checksum is not a valid entry. */
export class BadRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRecordError';
  }
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Decodes a msgpack body written by {@link encodeEntryBody}. */
export function decodeEntryBody(body: Uint8Array): Entry {
  let t: unknown;
  try {
    t = packr.unpack(body);
  } catch (err) {
    throw new BadRecordError(`undecodable entry: ${(err as Error).message}`);
  }
  if (!Array.isArray(t) || t.length < 3 || !isCount(t[0]) || !isCount(t[1]))
    throw new BadRecordError('entry is not a [term, index, kind] tuple');
  const logId = { term: t[0], index: t[1] };
  switch (t[2]) {
    case KIND_BLANK:
      return { logId, payload: { type: 'blank' } };
    case KIND_NORMAL: {
      const d: unknown = t[3];
      if (!(d instanceof Uint8Array)) throw new BadRecordError('normal entry without bytes');
      // A plain Uint8Array view (msgpackr hands out Buffers), no copy.
      return {
        logId,
        payload: { type: 'normal', data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) },
      };
    }
    case KIND_MEMBERSHIP: {
      const m: unknown = t[3];
      if (m === null || typeof m !== 'object')
        throw new BadRecordError('membership entry without membership');
      return { logId, payload: { type: 'membership', membership: m as Membership } };
    }
    default:
      throw new BadRecordError(`unknown entry kind ${String(t[2])}`);
  }
}

/** Frames bodies as records into one buffer; returns the buffer and each record's size. */
export function frameRecords(bodies: readonly Uint8Array[]): { bytes: Uint8Array; sizes: number[] } {
  let total = 0;
  for (const b of bodies) total += RECORD_HEADER_BYTES + b.byteLength;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const sizes: number[] = [];
  let at = 0;
  for (const b of bodies) {
    view.setUint32(at, b.byteLength, true);
    view.setUint32(at + 4, crc32(b), true);
    bytes.set(b, at + RECORD_HEADER_BYTES);
    const size = RECORD_HEADER_BYTES + b.byteLength;
    sizes.push(size);
    at += size;
  }
  return { bytes, sizes };
}

/** Builds a segment header. */
export function segmentHeader(firstIndex: number): Uint8Array {
  const h = new Uint8Array(SEGMENT_HEADER_BYTES);
  const v = new DataView(h.buffer);
  v.setUint32(0, SEGMENT_MAGIC, false);
  v.setUint32(4, FORMAT_VERSION, true);
  v.setFloat64(8, firstIndex, true);
  return h;
}

/** What a segment header says, or why it is not one. */
export type SegmentHeaderCheck =
  | { ok: true; firstIndex: number }
  | { ok: false; why: 'short' | 'magic' | 'version'; version?: number };

/** Parses a segment header. */
export function parseSegmentHeader(h: Uint8Array): SegmentHeaderCheck {
  if (h.byteLength < SEGMENT_HEADER_BYTES) return { ok: false, why: 'short' };
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  if (v.getUint32(0, false) !== SEGMENT_MAGIC) return { ok: false, why: 'magic' };
  const version = v.getUint32(4, true);
  if (version !== FORMAT_VERSION) return { ok: false, why: 'version', version };
  return { ok: true, firstIndex: v.getFloat64(8, true) };
}

/** Outcome of checking one record at a position of a buffer. */
export type RecordCheck =
  | { ok: true; body: Uint8Array; size: number }
  | { ok: false; why: 'short' | 'length' | 'checksum' };

/** Checks the record starting at `at` in `buf` (length sane, fully present, checksum right). */
export function checkRecord(buf: Uint8Array, at: number): RecordCheck {
  if (buf.byteLength - at < RECORD_HEADER_BYTES) return { ok: false, why: 'short' };
  const v = new DataView(buf.buffer, buf.byteOffset + at, RECORD_HEADER_BYTES);
  const len = v.getUint32(0, true);
  if (len === 0 || len > MAX_RECORD_BYTES) return { ok: false, why: 'length' };
  if (buf.byteLength - at - RECORD_HEADER_BYTES < len) return { ok: false, why: 'short' };
  const body = buf.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + len);
  if (crc32(body) !== v.getUint32(4, true)) return { ok: false, why: 'checksum' };
  return { ok: true, body, size: RECORD_HEADER_BYTES + len };
}
