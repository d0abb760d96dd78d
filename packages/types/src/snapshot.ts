/**
 * Owns what a snapshot is: its meta, its data as a stream of byte chunks, the sink a received one is
 * spooled to, and two helpers between streams and buffers. Must never fix a chunk size for the
 * wire: transports may re-chunk, and a data stream is read once.
 */
import type { LogId } from './log-id.ts';
import type { StoredMembership } from './membership.ts';

/** What a snapshot covers. */
export interface SnapshotMeta {
  /** The last log entry included in the snapshot (`null`: nothing applied yet). */
  lastLogId: LogId | null;
  /** The last membership applied before the snapshot was taken. */
  lastMembership: StoredMembership;
  /** An id unique to this snapshot, chosen by the state machine. */
  snapshotId: string;
}

/**
 * Snapshot data: a stream of byte chunks. Chunk sizes are the producer's choice; transports may
 * re-chunk. Consumed once.
 */
export type SnapshotData = AsyncIterable<Uint8Array>;

/**
 * Where a snapshot received from the leader is spooled while it arrives (a temp file, say), so a
 * large snapshot never has to sit in memory. Obtained from `RaftStateMachine.beginReceivingSnapshot`.
 * The runtime writes every chunk in order, calls `finish()` once the transfer is complete, installs
 * from the data it returns, and calls `discard()` exactly once in the end: after the install, or when
 * the transfer failed or was refused.
 */
export interface SnapshotSink {
  /** Appends the next chunk. A rejection fails the transfer (the leader retries later). */
  write(chunk: Uint8Array): Promise<void>;
  /** Every chunk was written: returns the received data, read back once, for the install. */
  finish(): Promise<SnapshotData>;
  /** Releases what was received (e.g. deletes the temp file). Idempotent. */
  discard(): Promise<void>;
}

/** A snapshot: its meta and its data. Each `getCurrentSnapshot()` call returns a fresh stream. */
export interface Snapshot {
  /** What it covers. */
  meta: SnapshotMeta;
  /** The data, read once. */
  data: SnapshotData;
}

/** Collects snapshot data into one buffer (for tests and small snapshots). */
export async function collectSnapshotData(data: SnapshotData): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of data) {
    parts.push(chunk);
    n += chunk.byteLength;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Makes a snapshot data stream of one buffer, cut into chunks of at most `chunkBytes`. */
export async function* snapshotDataOf(bytes: Uint8Array, chunkBytes = 64 * 1024): SnapshotData {
  if (bytes.byteLength === 0) return;
  for (let at = 0; at < bytes.byteLength; at += chunkBytes) yield bytes.subarray(at, at + chunkBytes);
}
