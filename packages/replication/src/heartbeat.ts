import {
  type AppendEntriesResponse,
  type Clock,
  type Logger,
  type LogId,
  type NodeId,
  type RaftNetwork,
  silentLogger,
  systemClock,
  type Vote,
  validateAppendEntriesResponse,
  voteGt,
} from '@flotilla/types';
import { withDeadline } from './deadline.ts';
import type { ReplicationCore } from './events.ts';
import { Watch } from './watch.ts';

/** One heartbeat to send: an empty AppendEntries with `prevLogId = matching`. */
export interface Heartbeat {
  /** What the leader believes the target matches (the request's `prevLogId`). */
  matching: LogId | null;
  /** The leader's committed log id. */
  committed: LogId | null;
}

/** Everything a {@link HeartbeatWorker} needs. */
export interface HeartbeatWorkerOptions {
  /** The target node. */
  target: NodeId;
  /** The worker's id (from the same counter as stream ids); echoed in its events. */
  streamId: number;
  /** The leader's committed vote. */
  leaderVote: Vote;
  /** A client of `target` of its own, so heartbeats never queue behind entries. */
  network: Pick<RaftNetwork, 'appendEntries'>;
  /** Receives `heartbeatAck` and `higherVote` events. */
  core: ReplicationCore;
  /** The heartbeat period: also each heartbeat's timeout. */
  heartbeatIntervalMs: number;
  /** Clock for `sentAt` and timeouts (default: `systemClock`). */
  clock?: Clock;
  /** Diagnostics (default: silent). */
  logger?: Logger;
}

/**
 * Sends heartbeats to one target, one at a time. Only the newest heartbeat handed to `send` waits
 * while one is in flight; older ones are dropped (a newer heartbeat carries everything an older one
 * would). Each times out after the heartbeat interval. A reply is reported as `heartbeatAck` (with
 * `matching` when the target confirmed `prevLogId`) or `higherVote`; transport failures are only
 * logged: the leader notices missing acks through its lease and check-quorum.
 */
export class HeartbeatWorker {
  /** The worker's id. */
  readonly id: number;
  /** The target node. */
  readonly target: NodeId;
  /** Resolves when the worker's task has ended, after `close()`. */
  readonly done: Promise<void>;
  readonly #opts: HeartbeatWorkerOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #root = new AbortController();
  readonly #pending = new Watch<Heartbeat | null>(null);
  #sent = 0;
  #answered = 0;

  /** Starts the worker's task; it waits for the first `send`. */
  constructor(opts: HeartbeatWorkerOptions) {
    this.#opts = opts;
    this.id = opts.streamId;
    this.target = opts.target;
    this.#clock = opts.clock ?? systemClock;
    this.#logger = opts.logger ?? silentLogger;
    this.done = this.#run();
  }

  /** Heartbeats sent so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Heartbeats answered (acked or refused with a higher vote) so far. */
  get answered(): number {
    return this.#answered;
  }

  /** Queues `hb`, replacing any heartbeat not yet sent. Ignored after `close()`. */
  send(hb: Heartbeat): void {
    if (this.#root.signal.aborted) return;
    this.#pending.set({ ...hb });
  }

  /** Stops the worker now, without waiting for a heartbeat in flight. Idempotent. */
  close(): void {
    this.#root.abort(new Error('heartbeat worker closed'));
  }

  async #run(): Promise<void> {
    const root = this.#root.signal;
    while (!root.aborted) {
      const hb = this.#pending.get();
      if (hb === null) {
        try {
          await this.#pending.changed(root);
        } catch {
          return;
        }
        continue;
      }
      this.#pending.set(null);
      const sentAt = this.#clock.now();
      const timeoutMs = this.#opts.heartbeatIntervalMs;
      let resp: AppendEntriesResponse;
      try {
        this.#sent += 1;
        resp = await withDeadline(
          (signal) =>
            this.#opts.network.appendEntries(
              {
                vote: this.#opts.leaderVote,
                prevLogId: hb.matching,
                entries: [],
                leaderCommit: hb.committed,
              },
              { signal, timeoutMs },
            ),
          timeoutMs,
          this.#clock,
          root,
          'heartbeat',
        );
      } catch (e) {
        if (root.aborted) return;
        this.#logger.debug('heartbeat failed', { target: this.target, error: e });
        continue;
      }
      if (root.aborted) return;
      try {
        resp = validateAppendEntriesResponse(resp, 'heartbeatReply');
      } catch (e) {
        this.#logger.warn('malformed heartbeat reply dropped', { target: this.target, error: e });
        continue;
      }
      this.#answered += 1;
      const base = { target: this.target, streamId: this.id };
      if (resp.type === 'higherVote') {
        if (voteGt(resp.vote, this.#opts.leaderVote))
          this.#opts.core.notify({ type: 'higherVote', ...base, inflightId: null, vote: resp.vote });
        else this.#logger.warn('heartbeat reply carries a vote that is not higher', { target: this.target });
      } else if (resp.type === 'success') {
        this.#opts.core.notify({ type: 'heartbeatAck', ...base, sentAt, matching: hb.matching });
      } else if (resp.type === 'conflict') {
        // A refusal still means the target accepted this leader; it lacks the heartbeat's prevLogId.
        this.#opts.core.notify({ type: 'heartbeatAck', ...base, sentAt, refused: hb.matching });
      } else {
        // A partial success confirms no position of an empty request; the target accepted the leader.
        this.#opts.core.notify({ type: 'heartbeatAck', ...base, sentAt });
      }
    }
  }
}
