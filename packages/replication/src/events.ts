import type { LogId, NodeId, SnapshotMeta, Vote } from '@flotilla/types';

/**
 * Everything a replication stream, heartbeat worker or snapshot transfer tells the runtime. Every
 * event names the `target` and the `streamId` of the emitter: a runtime drops events whose
 * `streamId` is not the one it currently holds for that target (a late notification from a closed
 * stream), and the engine drops those whose `inflightId` is stale.
 */
export type ReplicationEvent =
  /**
   * The target's log matches the leader's up to `matching` (a cumulative ack; one event may cover many
   * requests). `sentAt` is the clock reading when the newest acknowledged request was sent: the
   * runtime feeds it to the leader lease. Feed `onReplicationProgress(target, inflightId, matching)`.
   */
  | {
      type: 'progress';
      target: NodeId;
      streamId: number;
      inflightId: number;
      matching: LogId | null;
      sentAt: number;
    }
  /**
   * The target has no entry equal to `logId` (the rejected request's `prevLogId`). The inflight is
   * over; the engine moves its search down and issues a new `replicate`.
   */
  | { type: 'conflict'; target: NodeId; streamId: number; inflightId: number; logId: LogId }
  /**
   * The target has seen a greater vote than the leader's: the leader must step down. `inflightId` is
   * `null` when a heartbeat found it.
   */
  | { type: 'higherVote'; target: NodeId; streamId: number; inflightId: number | null; vote: Vote }
  /**
   * The transport failed (unreachable, connection lost, timeout, remote error, a stream that ended
   * early). The inflight is over; the stream idles until the next `replicate`, which it delays by
   * `backoffMs` (0 after a success). The engine should reset the inflight and issue a new `replicate`.
   */
  | {
      type: 'transportError';
      target: NodeId;
      streamId: number;
      inflightId: number;
      error: Error;
      backoffMs: number;
    }
  /**
   * Reading the leader's own log (or snapshot) failed, or it returned entries that break the log's
   * invariants. The stream has stopped for good and ignores further commands: the runtime must treat
   * the node as failed (a storage error is fatal), not retry.
   */
  | { type: 'fatal'; target: NodeId; streamId: number; inflightId: number; error: Error }
  /**
   * A heartbeat was answered. `sentAt` is when it was sent (for the lease). `matching` is present when
   * the target confirmed the heartbeat's `prevLogId` (it is the heartbeat's `prevLogId`); `refused`
   * is present when the target has no entry equal to it (it is that `prevLogId`, the `matching` the
   * leader sent). Neither: the target accepted the leader but its reply confirms no log position.
   */
  | {
      type: 'heartbeatAck';
      target: NodeId;
      streamId: number;
      sentAt: number;
      matching?: LogId | null;
      refused?: LogId | null;
    }
  /** A snapshot was installed on the target; its log now matches up to `meta.lastLogId`. */
  | {
      type: 'snapshotDone';
      target: NodeId;
      streamId: number;
      inflightId: number;
      meta: SnapshotMeta;
      sentAt: number;
    }
  /** A snapshot transfer failed (transport or timeout); the next attempt waits `backoffMs`. */
  | {
      type: 'snapshotFailed';
      target: NodeId;
      streamId: number;
      inflightId: number;
      error: Error;
      backoffMs: number;
    };

/** The `type` of a {@link ReplicationEvent}. */
export type ReplicationEventType = ReplicationEvent['type'];

/**
 * What the runtime implements to hear from replication. `notify` must not throw and must not block:
 * it is called from stream tasks; the runtime queues the event into its core loop.
 */
export interface ReplicationCore {
  /** Receives one event. */
  notify(event: ReplicationEvent): void;
}
