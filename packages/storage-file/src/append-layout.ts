/**
 * Lays an append out on disk: frames the entries as records, decides which segment each record
 * goes to (rolling a new segment when the tail would pass `segmentBytes`), records each entry's
 * place in the entry locations, and cuts the bytes into one chunk per segment for the writer.
 *
 * Must never write to a file or wait for anything: the layout is decided synchronously, when the
 * append is issued, so the entry locations and the segment sizes are those of the log as readers see it.
 */
import type { Entry } from '@flotilla/types';
import type { EntryLocations } from './entry-locations.ts';
import type { Chunk } from './group-commit.ts';
import { encodeEntryBody, frameRecords, SEGMENT_HEADER_BYTES, segmentHeader } from './record.ts';
import { Segment } from './segment.ts';

/** Where an append goes: the store's directory, its live segments (extended here), its entry locations. */
export interface AppendTarget {
  dir: string;
  segments: Segment[];
  locations: EntryLocations;
  segmentBytes: number;
}

/**
 * Places `entries` (already checked to continue the log) after the last one: pushes new segments
 * onto `target.segments`, grows the tail segments' logical sizes and the entry locations, and returns the
 * chunks to write, in order.
 */
export function layOutAppend(target: AppendTarget, entries: readonly Entry[]): Chunk[] {
  const { bytes, sizes } = frameRecords(entries.map(encodeEntryBody));
  const chunks: Chunk[] = [];
  let tail = target.segments[target.segments.length - 1];
  let chunkFrom = 0; // start in `bytes` of the current chunk
  let placed = 0; // bytes of `bytes` placed so far
  let chunkSegment: Segment | null = null;
  let chunkCreates = false;
  let chunkPosition = 0;
  const closeChunk = (to: number) => {
    if (chunkSegment === null || to === chunkFrom) return;
    const body = bytes.subarray(chunkFrom, to);
    const out = chunkCreates ? concat(segmentHeader(chunkSegment.firstIndex), body) : body;
    chunks.push({ segment: chunkSegment, position: chunkPosition, bytes: out, create: chunkCreates });
    chunkFrom = to;
  };
  for (let k = 0; k < entries.length; k++) {
    const entry = entries[k] as Entry;
    const size = sizes[k] ?? 0;
    if (tail === undefined || (tail.size > SEGMENT_HEADER_BYTES && tail.size + size > target.segmentBytes)) {
      closeChunk(placed);
      tail = new Segment(target.dir, entry.logId.index, SEGMENT_HEADER_BYTES);
      target.segments.push(tail);
      chunkSegment = tail;
      chunkCreates = true;
      chunkPosition = 0;
    } else if (chunkSegment === null) {
      chunkSegment = tail;
      chunkCreates = false;
      chunkPosition = tail.size;
    }
    target.locations.push(entry.logId.term, tail.size, size);
    tail.size += size;
    placed += size;
  }
  closeChunk(placed);
  return chunks;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
