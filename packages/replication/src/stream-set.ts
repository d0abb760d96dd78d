import {
  type Clock,
  InvalidRequestError,
  type Logger,
  type LogId,
  type Node,
  type NodeId,
  type RaftLogReader,
  type RaftNetwork,
  type Vote,
} from '@flotilla/types';
import { type ReplicationConfig, type ReplicationConfigInput, resolveReplicationConfig } from './config.ts';
import type { ReplicationCore } from './events.ts';
import { type Heartbeat, HeartbeatWorker } from './heartbeat.ts';
import type { SnapshotSource } from './snapshot.ts';
import type { IoPosition, ReplicateRequest } from './stream-options.ts';
import { ReplicationStream } from './target-stream.ts';
import type { ReadonlyWatch } from './watch.ts';

/** What a client is for: entries and snapshots, or heartbeats (each on its own connection). */
export type ClientPurpose = 'replication' | 'heartbeat';

/** A replication target: a follower or learner of the current membership (never the leader itself). */
export interface ReplicationTarget {
  /** Its id. */
  id: NodeId;
  /** Its node (address). A target whose address changed gets a new stream. */
  node: Node;
}

/** Everything a {@link ReplicationStreams} set needs; shared by all its streams. */
export interface ReplicationStreamsOptions {
  /** The leader's committed vote. One set serves one leadership; make a new set on a new term. */
  leaderVote: Vote;
  /** Makes a client of `target` (one per purpose, so heartbeats never queue behind entries). */
  newClient(target: NodeId, node: Node, purpose: ClientPurpose): RaftNetwork;
  /** Makes a log reader for one stream. */
  newReader(): RaftLogReader;
  /** See `ReplicationStreamOptions.ioAccepted`. */
  ioAccepted: ReadonlyWatch<IoPosition>;
  /** See `ReplicationStreamOptions.ioSubmitted`. */
  ioSubmitted: ReadonlyWatch<IoPosition>;
  /** See `ReplicationStreamOptions.committed`. */
  committed: ReadonlyWatch<LogId | null>;
  /** Receives every event of every stream and heartbeat worker. */
  core: ReplicationCore;
  /** Limits and timeouts; missing fields take their defaults. */
  config?: ReplicationConfigInput;
  /** Where snapshots come from. */
  snapshots?: SnapshotSource;
  /** The clock (default: `systemClock`). */
  clock?: Clock;
  /** Diagnostics (default: silent). */
  logger?: Logger;
  /** Source of stream ids, unique per node (default: a process-wide counter). */
  nextStreamId?: () => number;
}

let processStreamIds = 0;
const nextProcessStreamId = () => {
  processStreamIds += 1;
  return processStreamIds;
};

/** The replication machinery of one target. */
export interface TargetReplication {
  /** The target. */
  target: ReplicationTarget;
  /** Its entries/snapshot stream. */
  stream: ReplicationStream;
  /** Its heartbeat worker. */
  heartbeat: HeartbeatWorker;
  /** The clients the two use (closed with them). */
  clients: RaftNetwork[];
}

/**
 * The leader's replication streams, one per target, with their heartbeat workers. The runtime runs
 * the engine's `rebuildReplicationStreams`, `replicate` and `broadcastHeartbeat` commands on it.
 *
 * @example
 * ```ts
 * const set = new ReplicationStreams({ leaderVote, newClient, newReader, ioAccepted, ioSubmitted, committed, core });
 * set.rebuild([{ id: 'b', node: { addr: 'b:1' } }], { closeOldStreams: true });
 * set.replicate('b', { inflightId: 1, payload: { type: 'logsSince', prev: null } });
 * ```
 */
export class ReplicationStreams {
  readonly #opts: ReplicationStreamsOptions;
  readonly #config: ReplicationConfig;
  readonly #nextId: () => number;
  readonly #targets = new Map<NodeId, TargetReplication>();
  #closed = false;

  /** Checks the config (`InvalidConfigError` on a bad field); starts no stream until `rebuild`. */
  constructor(opts: ReplicationStreamsOptions) {
    this.#opts = opts;
    this.#config = resolveReplicationConfig(opts.config);
    this.#nextId = opts.nextStreamId ?? nextProcessStreamId;
  }

  /** The resolved config. */
  get config(): Readonly<ReplicationConfig> {
    return this.#config;
  }

  /** The current targets' ids. */
  targets(): NodeId[] {
    return [...this.#targets.keys()];
  }

  /** The replication of `target`, if it is a current target. */
  get(target: NodeId): TargetReplication | undefined {
    return this.#targets.get(target);
  }

  /** The stream id of `target`'s stream: events with any other id for that target are stale. */
  streamId(target: NodeId): number | undefined {
    return this.#targets.get(target)?.stream.id;
  }

  /** Whether `event` comes from a stream or heartbeat worker of this set that is still current. */
  isCurrent(event: { target: NodeId; streamId: number }): boolean {
    const t = this.#targets.get(event.target);
    return t !== undefined && (t.stream.id === event.streamId || t.heartbeat.id === event.streamId);
  }

  /**
   * Makes the set serve exactly `targets`. With `closeOldStreams: false` (a membership change), a
   * target already served keeps its stream and heartbeat worker untouched (same ids, same in-flight
   * state); with `true` every stream is replaced. New targets get new streams; streams of removed
   * targets are closed at once, without waiting for RPCs in progress. Returns the ids started and
   * closed.
   */
  rebuild(
    targets: Iterable<ReplicationTarget>,
    opts: { closeOldStreams: boolean },
  ): { started: NodeId[]; closed: NodeId[] } {
    if (this.#closed) throw new InvalidRequestError('rebuild', 'the replication set is closed');
    const wanted = new Map<NodeId, ReplicationTarget>();
    for (const t of targets) {
      if (wanted.has(t.id)) throw new InvalidRequestError(`targets.${t.id}`, 'duplicate target');
      wanted.set(t.id, t);
    }
    const closed: NodeId[] = [];
    for (const [id, t] of this.#targets) {
      const w = wanted.get(id);
      if (opts.closeOldStreams || w === undefined || w.node.addr !== t.target.node.addr) {
        this.#closeTarget(t);
        this.#targets.delete(id);
        closed.push(id);
      }
    }
    const started: NodeId[] = [];
    for (const [id, t] of wanted) {
      if (this.#targets.has(id)) continue;
      this.#targets.set(id, this.#start(t));
      started.push(id);
    }
    return { started, closed };
  }

  /** Runs the engine's `replicate` for `target`. Throws `InvalidRequestError` for an unknown target. */
  replicate(target: NodeId, req: ReplicateRequest): boolean {
    return this.#must(target).stream.replicate(req);
  }

  /** Queues a heartbeat to `target` (only the newest unsent one is kept). */
  heartbeat(target: NodeId, hb: Heartbeat): void {
    this.#must(target).heartbeat.send(hb);
  }

  /** Queues a heartbeat to every target, `matching(target)` giving each its `prevLogId`. */
  broadcastHeartbeat(matching: (target: NodeId) => LogId | null, committed: LogId | null): void {
    for (const [id, t] of this.#targets) t.heartbeat.send({ matching: matching(id), committed });
  }

  /** Closes every stream and worker, without waiting for RPCs in progress. The set is then unusable. */
  closeAll(): void {
    this.#closed = true;
    for (const t of this.#targets.values()) this.#closeTarget(t);
    this.#targets.clear();
  }

  #must(target: NodeId): TargetReplication {
    const t = this.#targets.get(target);
    if (t === undefined) throw new InvalidRequestError('target', `no replication stream for ${target}`);
    return t;
  }

  #start(target: ReplicationTarget): TargetReplication {
    const o = this.#opts;
    const network = o.newClient(target.id, target.node, 'replication');
    const hbNetwork = o.newClient(target.id, target.node, 'heartbeat');
    const common = {
      target: target.id,
      leaderVote: o.leaderVote,
      core: o.core,
      ...(o.clock === undefined ? {} : { clock: o.clock }),
      ...(o.logger === undefined ? {} : { logger: o.logger }),
    };
    const stream = new ReplicationStream({
      ...common,
      streamId: this.#nextId(),
      network,
      reader: o.newReader(),
      ioAccepted: o.ioAccepted,
      ioSubmitted: o.ioSubmitted,
      committed: o.committed,
      config: this.#config,
      ...(o.snapshots === undefined ? {} : { snapshots: o.snapshots }),
    });
    const heartbeat = new HeartbeatWorker({
      ...common,
      streamId: this.#nextId(),
      network: hbNetwork,
      heartbeatIntervalMs: this.#config.heartbeatIntervalMs,
    });
    return { target, stream, heartbeat, clients: network === hbNetwork ? [network] : [network, hbNetwork] };
  }

  #closeTarget(t: TargetReplication): void {
    t.stream.close();
    t.heartbeat.close();
    for (const c of t.clients) {
      // Not awaited: a hung connection must not hold up the leader.
      void Promise.resolve()
        .then(() => c.close?.())
        .catch((e: unknown) =>
          this.#opts.logger?.debug('closing a client failed', { target: t.target.id, error: e }),
        );
    }
  }
}
