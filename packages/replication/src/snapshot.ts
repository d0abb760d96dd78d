import type { Clock, RaftNetwork, Snapshot, SnapshotData, SnapshotResponse, Vote } from '@flotilla/types';
import { withDeadline } from './deadline.ts';

/** Where the snapshot transmitter gets the snapshot to send: the state machine's current one. */
export interface SnapshotSource {
  /** The current snapshot with a fresh data stream, or `null` when none was built yet. */
  getCurrentSnapshot(): Promise<Snapshot | null>;
}

/** Re-cuts a snapshot data stream into chunks of at most `chunkBytes` (empty chunks are dropped). */
export async function* rechunk(data: SnapshotData, chunkBytes: number): SnapshotData {
  for await (const chunk of data) {
    for (let at = 0; at < chunk.byteLength; at += chunkBytes) yield chunk.subarray(at, at + chunkBytes);
  }
}

/** Options of {@link transmitSnapshot}. */
export interface TransmitSnapshotOptions {
  /** Cancels the transfer. */
  signal: AbortSignal;
  /** The whole transfer's deadline, in ms (enforced here even if the network ignores it). */
  timeoutMs: number;
  /** Chunk size handed to the network, which also receives data cut to it. */
  chunkBytes: number;
  /** The clock that measures the deadline. */
  clock: Clock;
}

/**
 * Sends one snapshot to a target through `network.fullSnapshot`, its data cut into `chunkBytes`
 * chunks, with a deadline and cancellation. Resolves with the receiver's answer; rejects with
 * `RpcTimeoutError` on expiry, the signal's reason on cancellation, or the network's error.
 */
export function transmitSnapshot(
  network: Pick<RaftNetwork, 'fullSnapshot'>,
  vote: Vote,
  snapshot: Snapshot,
  opts: TransmitSnapshotOptions,
): Promise<SnapshotResponse> {
  const data = rechunk(snapshot.data, opts.chunkBytes);
  return withDeadline(
    (signal) =>
      network.fullSnapshot(
        vote,
        { meta: snapshot.meta, data },
        { signal, timeoutMs: opts.timeoutMs, chunkBytes: opts.chunkBytes },
      ),
    opts.timeoutMs,
    opts.clock,
    opts.signal,
    'snapshot transfer',
  );
}
