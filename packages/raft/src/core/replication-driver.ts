/**
 * The replication driver: the leader's replication streams and heartbeat workers over their life
 * (built on becoming leader, rebuilt on a membership change, closed on stepping down or a stop),
 * the engine's `replicate` and heartbeat commands handed to them, and their events handed back.
 *
 * Owns: the current `ReplicationStreams` set and the leader vote it serves, the log reversions
 * already reported, and each target's last acknowledgement time under the current leadership (what
 * `metricsOf` reports as `lastAcked`). Must never: send anything itself (the streams do), let an
 * event of a closed stream reach the engine, or keep streams of a leadership that ended.
 */
import type { Command, ReplicationResult } from '@flotilla/engine';
import { type ReplicationEvent, ReplicationStreams } from '@flotilla/replication';
import {
  type Node,
  type NodeId,
  type RaftLogStorage,
  type RaftStateMachine,
  type Vote,
  voteEquals,
} from '@flotilla/types';
import type { LogIo } from './log-io.ts';
import type { CoreParts } from './parts.ts';
import type { Peers } from './peers.ts';

type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

/** The replication side of one leader (see the file comment). */
export class ReplicationDriver<D, R> {
  readonly #p: CoreParts;
  readonly #io: LogIo;
  readonly #peers: Peers;
  readonly #store: RaftLogStorage;
  readonly #sm: RaftStateMachine<D, R>;
  #streams: ReplicationStreams | null = null;
  #streamsVote: Vote | null = null;
  /** The `seq` of the last log reversion reported through the logger. */
  #reversionsReported = 0;
  /**
   * Per target, the send time of its latest acknowledged request, in a one-slot `Float64Array`
   * written in place (one number store per reply, no allocation once a target has its slot).
   */
  readonly #acked = new Map<NodeId, Float64Array>();

  constructor(
    parts: CoreParts,
    deps: {
      io: LogIo;
      peers: Peers;
      store: RaftLogStorage;
      stateMachine: RaftStateMachine<D, R>;
    },
  ) {
    this.#p = parts;
    this.#io = deps.io;
    this.#peers = deps.peers;
    this.#store = deps.store;
    this.#sm = deps.stateMachine;
  }

  /**
   * When `target` last acknowledged this leader: the send time of its latest acknowledged request
   * under the current leadership (read when metrics are computed); `null` before any.
   */
  lastAcked(target: NodeId): number | null {
    const slot = this.#acked.get(target);
    return slot === undefined ? null : (slot[0] as number);
  }

  /** Runs a `replicate` command (a stream waits itself until the entries it sends are readable). */
  replicate(cmd: CommandOf<'replicate'>): void {
    this.#streams?.replicate(cmd.target, { inflightId: cmd.inflightId, payload: cmd.payload });
  }

  replicateSnapshot(cmd: CommandOf<'replicateSnapshot'>): void {
    this.#streams?.replicate(cmd.target, { inflightId: cmd.inflightId, payload: { type: 'snapshot' } });
  }

  broadcastHeartbeat(cmd: CommandOf<'broadcastHeartbeat'>): void {
    for (const t of cmd.targets) {
      this.#streams?.heartbeat(t.id, { matching: t.matching, committed: cmd.committed });
    }
  }

  /** Runs `rebuildReplicationStreams`: `vote === null` closes every stream. */
  rebuild(cmd: CommandOf<'rebuildReplicationStreams'>): void {
    const { vote, targets, closeOldStreams: closeOld } = cmd;
    const sameLeader = vote !== null && this.#streamsVote !== null && voteEquals(vote, this.#streamsVote);
    if (this.#streams !== null && (closeOld || !sameLeader)) {
      this.#streams.closeAll();
      this.#streams = null;
      this.#streamsVote = null;
    }
    if (vote === null) return;
    if (this.#streams === null) {
      this.#acked.clear(); // acknowledgements count per leadership
      this.#streams = this.#newStreams(vote);
      this.#streamsVote = vote;
    }
    this.#streams.rebuild(targets, { closeOldStreams: false });
  }

  /** Closes every stream (at a stop); a transport's failing close is only logged. */
  closeAll(): void {
    try {
      this.#streams?.closeAll();
    } catch (e) {
      this.#p.logger.debug('closing the replication streams failed', { err: String(e) });
    }
    this.#streams = null;
  }

  #newStreams(vote: Vote): ReplicationStreams {
    const p = this.#p;
    const config = p.config;
    return new ReplicationStreams({
      leaderVote: vote,
      newClient: (id: NodeId, node: Node) => this.#peers.streamClient(id, node),
      newReader: () => this.#store.reader(),
      ioAccepted: this.#io.ioAccepted,
      ioSubmitted: this.#io.ioSubmitted,
      committed: this.#io.committed,
      core: { notify: (ev) => p.loop.enqueue(() => this.#onEvent(ev)) },
      config: {
        maxPayloadEntries: config.maxPayloadEntries,
        maxInflightRequests: config.maxInflightRequests,
        maxInflightBytes: config.maxInflightBytes,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        appendTimeoutMs: config.replicationTimeoutMs,
        installSnapshotTimeoutMs: config.installSnapshotTimeoutMs,
        snapshotChunkBytes: config.snapshotChunkBytes,
        backoff: config.replicationBackoff,
      },
      snapshots: { getCurrentSnapshot: () => this.#sm.getCurrentSnapshot() },
      clock: p.clock,
      logger: p.logger,
    });
  }

  /** Hands a stream's event to the engine (inside the loop); events of closed streams are dropped. */
  #onEvent(ev: ReplicationEvent): void {
    if (this.#streams === null || !this.#streams.isCurrent(ev)) return;
    const p = this.#p;
    const now = p.clock.now();
    const report = (inflightId: number | null, result: ReplicationResult) =>
      p.engine.onReplicationProgress(ev.target, { inflightId, result }, now);
    if (ev.type === 'transportError' || ev.type === 'snapshotFailed')
      this.#peers.reportFailure(ev.target, ev.error);
    else if (ev.type !== 'fatal') this.#peers.reportContact(ev.target);
    switch (ev.type) {
      case 'progress':
        this.#ack(ev.target, ev.sentAt);
        report(ev.inflightId, { type: 'matched', matching: ev.matching, sentAt: ev.sentAt });
        return;
      case 'conflict':
        report(ev.inflightId, { type: 'conflict', prevLogId: ev.logId, sentAt: now });
        this.#reportLogReversions();
        return;
      case 'higherVote':
        report(ev.inflightId, { type: 'higherVote', vote: ev.vote });
        return;
      case 'transportError':
        report(ev.inflightId, { type: 'failed' });
        return;
      case 'fatal':
        p.loop.fail(ev.error);
        return;
      case 'heartbeatAck':
        if (ev.matching !== undefined) {
          this.#ack(ev.target, ev.sentAt);
          report(null, { type: 'matched', matching: ev.matching, sentAt: ev.sentAt });
        } else if (ev.refused !== undefined && ev.refused !== null) {
          // The target lacks the heartbeat's prevLogId; the engine decides if it is a log reversion.
          report(null, { type: 'conflict', prevLogId: ev.refused, sentAt: ev.sentAt });
          this.#reportLogReversions();
        }
        return;
      case 'snapshotDone':
        this.#ack(ev.target, ev.sentAt);
        report(ev.inflightId, { type: 'snapshotInstalled', lastLogId: ev.meta.lastLogId, sentAt: ev.sentAt });
        return;
      case 'snapshotFailed':
        report(ev.inflightId, { type: 'failed' });
        return;
    }
  }

  /** `target` accepted a request sent at `sentAt` (a late reply to an older request moves nothing). */
  #ack(target: NodeId, sentAt: number): void {
    const slot = this.#acked.get(target);
    if (slot === undefined) this.#acked.set(target, Float64Array.of(sentAt));
    else if (sentAt > (slot[0] as number)) slot[0] = sentAt;
  }

  /** Logs every log reversion the engine detected since the last call (once each). */
  #reportLogReversions(): void {
    for (const r of this.#p.engine.logReversions()) {
      if (r.seq <= this.#reversionsReported) continue;
      this.#reversionsReported = r.seq;
      const fields = { target: r.target, term: r.term, matching: r.matching, conflictIndex: r.conflictIndex };
      if (r.repaired) {
        this.#p.logger.warn('log reversion: the target lost acknowledged entries; repairing it', fields);
      } else {
        this.#p.logger.warn(
          'log reversion refused: the target lost acknowledged entries; nothing more is replicated to it ' +
            'by this leader (set allowLogReversion to repair it)',
          fields,
        );
      }
    }
  }
}
