/**
 * Reading entries back from a segment: one positioned read of a run of consecutive records, each
 * checked (length, checksum) and compared with the entry locations (its log id must be the one they
 * say lives there), so a corrupt or misplaced record is a `StorageError`, never a wrong entry.
 *
 * Must never write, never consult the tail cache, never retry: the store decides what to read where
 * and what to do when a concurrent truncate or purge removed it.
 */
import type { Entry } from '@flotilla/types';
import { formatLogId, StorageError } from '@flotilla/types';
import type { EntryLocations } from './entry-locations.ts';
import type { FileIO } from './file-io.ts';
import { checkRecord, decodeEntryBody } from './record.ts';
import type { Segment } from './segment.ts';

/** Reads and verifies the entries `[first, end)`, all of which live in `segment`. */
export async function readSegmentEntries(
  io: FileIO,
  segment: Segment,
  locations: EntryLocations,
  first: number,
  end: number,
): Promise<{ entries: Entry[]; bytes: number }> {
  const from = locations.offsetOf(first);
  let to = from;
  for (let i = first; i < end; i++) to += locations.sizeOf(i);
  const handle = await segment.open(io);
  const buf = new Uint8Array(to - from);
  const n = await handle.read(buf, 0, buf.byteLength, from);
  if (n !== buf.byteLength) throw new Error(`short read in ${segment.path} at ${from}`);
  const entries: Entry[] = [];
  let at = 0;
  for (let i = first; i < end; i++) {
    const record = checkRecord(buf, at);
    if (!record.ok)
      throw new StorageError(
        'read',
        `corrupt record (${record.why}) in ${segment.path} at offset ${from + at}`,
      );
    const entry = decodeEntryBody(record.body);
    if (entry.logId.index !== i || entry.logId.term !== locations.termOf(i))
      throw new StorageError(
        'read',
        `${segment.path} at offset ${from + at} holds ${formatLogId(entry.logId)}, not entry ${i}`,
      );
    entries.push(entry);
    at += record.size;
  }
  return { entries, bytes: buf.byteLength };
}
