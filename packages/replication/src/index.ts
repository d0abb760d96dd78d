/**
 * @packageDocumentation
 * Leader-side Raft replication for Flotilla: one stream per target that runs the binary-search
 * probes the engine asks for and then pipelines AppendEntries through `network.streamAppend`
 * (falling back to one `appendEntries` at a time), heartbeat workers on their own connections, the
 * snapshot transmitter, the follower side of `streamAppend` (`serveStreamAppend`), and `Watch<T>`,
 * the wake-up primitive the runtime publishes its I/O progress through. Depends on
 * `@flotilla/types` only; the runtime (`@flotilla/raft`) plugs it to the engine through
 * {@link @flotilla/replication#ReplicationCore}.
 *
 * @example
 * ```ts
 * import { ReplicationStreams, Watch, type IoPosition } from '@flotilla/replication';
 *
 * const leaderVote = { term: 3, nodeId: 'a', committed: true };
 * const ioAccepted = new Watch<IoPosition>({ vote: leaderVote, logId: null });
 * const ioSubmitted = new Watch<IoPosition>({ vote: leaderVote, logId: null });
 * const committed = new Watch<LogId | null>(null);
 * const streams = new ReplicationStreams({
 *   leaderVote, ioAccepted, ioSubmitted, committed,
 *   newClient: (id, node) => network.newClient(id, node),
 *   newReader: () => logStore.reader(),
 *   core: { notify: (event) => coreQueue.push(event) },
 *   config: { maxPayloadEntries: 256, maxInflightRequests: 32 },
 * });
 * streams.rebuild([{ id: 'b', node: { addr: 'b:1' } }], { closeOldStreams: true });
 * streams.replicate('b', { inflightId: 7, payload: { type: 'logsSince', prev: matching } });
 * // after appending entries: ioSubmitted.set({ vote: leaderVote, logId: last });
 * ```
 */
export { raceAbort } from './abort.ts';
export {
  Backoff,
  type BackoffConfig,
  defaultReplicationConfig,
  exponentialBackoff,
  isTransientError,
  type ReplicationConfig,
  type ReplicationConfigInput,
  resolveReplicationConfig,
} from './config.ts';
export { withDeadline } from './deadline.ts';
export type {
  ReplicationCore,
  ReplicationEvent,
  ReplicationEventType,
} from './events.ts';
export { type Heartbeat, HeartbeatWorker, type HeartbeatWorkerOptions } from './heartbeat.ts';
export { lastLogIdOf, sequentialStreamAppend } from './sequential.ts';
export { type AppendEntriesHandler, type ServeStreamAppendOptions, serveStreamAppend } from './serve.ts';
export { rechunk, type SnapshotSource, type TransmitSnapshotOptions, transmitSnapshot } from './snapshot.ts';
export type {
  IoId,
  IoPosition,
  ReplicatePayload,
  ReplicateRequest,
  ReplicationStreamOptions,
  ReplicationStreamState,
  ReplicationStreamStats,
} from './stream-options.ts';
export {
  type ClientPurpose,
  ReplicationStreams,
  type ReplicationStreamsOptions,
  type ReplicationTarget,
  type TargetReplication,
} from './stream-set.ts';
export { ReplicationStream } from './target-stream.ts';
export { type ReadonlyWatch, Watch, waitAny } from './watch.ts';
