/**
 * `Raft`: the API handle of one node — what applications and transports call.
 *
 * Owns: the public methods and their argument checks, and the order of `shutdown`. Must never: hold
 * protocol or I/O state (`RaftCore` and its parts do), touch the engine outside the core loop, or
 * grow logic that belongs to a part (a method here checks its input, then delegates).
 */
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  compareLogId,
  type EntryPayload,
  ForwardToLeaderError,
  InvalidRequestError,
  isMember,
  type LogId,
  learnerIds,
  logIdEquals,
  type Membership,
  type Node,
  type NodeId,
  type RaftStateMachine,
  type Snapshot,
  type SnapshotData,
  type SnapshotMeta,
  type SnapshotResponse,
  StoppedError,
  type StoredMembership,
  type StreamAppendResult,
  type TransferLeaderRequest,
  uniformMembership,
  type Vote,
  type VoteRequest,
  type VoteResponse,
  voterIds,
} from '@flotilla/types';
import { RpcHandler } from './api/rpc-handler.ts';
import type {
  AddLearnerResponse,
  ClientWriteResponse,
  RaftApi,
  RaftMetricsApi,
  RaftOptions,
  ReadLinearizer,
  ReadPolicy,
  RuntimeToggles,
  Trigger,
  WriteOptions,
} from './api.ts';
import type { RaftConfig } from './config.ts';
import { sessionOf } from './core/client-writes.ts';
import { RaftCore } from './core/raft-core.ts';
import type { Wait } from './metrics.ts';
import { onLeaderChange, watchMetric } from './metrics-watch.ts';

/**
 * A Raft node: the public API and the RPC handler its transport calls. Create one with `Raft.create`.
 *
 * Everything flows through one queue: API calls, RPCs, storage completions, replication events and
 * ticks are queued and handed to the engine one at a time; after each, the engine's commands run in
 * order, answers whose condition is not met yet wait. Client writes queued in one loop turn become
 * one `append`.
 *
 * @example
 * ```ts
 * const raft = await Raft.create({ id: 'a', network, logStore, stateMachine });
 * await raft.initialize({ a: { addr: 'a:1' }, b: { addr: 'b:1' }, c: { addr: 'c:1' } });
 * const { logId, response } = await raft.clientWrite({ set: 'x', value: 1 });
 * ```
 */
export class Raft<D, R> implements RaftApi<D, R> {
  /** This node's id. */
  readonly id: NodeId;
  readonly #core: RaftCore<D, R>;
  readonly #rpc: RpcHandler<D, R>;
  readonly #sm: RaftStateMachine<D, R>;

  private constructor(core: RaftCore<D, R>, rpc: RpcHandler<D, R>, sm: RaftStateMachine<D, R>) {
    this.id = core.id;
    this.#core = core;
    this.#rpc = rpc;
    this.#sm = sm;
  }

  /**
   * Creates and starts a node: reads the vote, log state, committed id, state-machine state and
   * snapshot, hands them to the engine, and starts the timers. A node whose storage is empty waits for
   * `initialize` (or for a leader to contact it).
   */
  static async create<D, R>(opts: RaftOptions<D, R>): Promise<Raft<D, R>> {
    const core = await RaftCore.create<D, R>(opts);
    return new Raft<D, R>(core, new RpcHandler<D, R>(core, opts.stateMachine), opts.stateMachine);
  }

  // ================================================================== application API

  /** Current metrics, a subscription to every change, and per-kind subscriptions (see {@link RaftMetricsApi}). */
  get metrics(): RaftMetricsApi {
    const hub = this.#core.hub;
    return {
      get current() {
        return hub.current;
      },
      subscribe: (l) => hub.subscribe(l),
      watch: (kind, l) => watchMetric(hub, kind, l),
      onLeaderChange: (l) => onLeaderChange(hub, l),
    };
  }

  // ================================================================== queries (from the metrics)

  /**
   * Whether this node already has a log or a vote, so `initialize` would refuse it (openraft's
   * `is_initialized`): a node that was initialized, or joined a cluster, or voted in one.
   */
  isInitialized(): boolean {
    const m = this.#core.hub.current;
    return m.lastLogIndex !== null || m.vote.term !== 0 || m.vote.nodeId !== null;
  }

  /** Whether this node is the leader now (it may learn otherwise a moment later; writes tell). */
  isLeader(): boolean {
    return this.#core.hub.current.state === 'Leader';
  }

  /** The leader this node knows of (itself when leading), or `null` (openraft's `current_leader`). */
  currentLeader(): NodeId | null {
    return this.#core.hub.current.currentLeader;
  }

  /** The voters of the effective membership (both sets' during a joint change), in id order. */
  voterIds(): NodeId[] {
    return voterIds(this.#core.hub.current.membership.membership);
  }

  /** The learners of the effective membership: members that receive the log but do not vote. */
  learnerIds(): NodeId[] {
    return learnerIds(this.#core.hub.current.membership.membership);
  }

  /**
   * The state machine's current snapshot (meta and a fresh data stream), or `null` when none was built
   * or installed yet (openraft's `get_snapshot`).
   */
  getSnapshot(): Promise<Snapshot | null> {
    return this.#sm.getCurrentSnapshot();
  }

  /** The validated configuration in force. */
  get config(): Readonly<RaftConfig> {
    return this.#core.config;
  }

  /** Waits for metrics predicates (default timeout: 10 election timeouts). */
  wait(opts: { timeoutMs?: number } = {}): Wait {
    return this.#core.wait(opts);
  }

  /** Initializes a new cluster whose voters are the keys of `nodes`. */
  async initialize(nodes: Record<NodeId, Node>): Promise<void> {
    const { loop, engine, clock } = this.#core.parts;
    loop.ensureRunning();
    const membership: Membership = uniformMembership(nodes);
    await loop.call(() => {
      engine.initialize(membership, clock.now());
    });
  }

  /** Proposes `data`; resolves once applied. */
  clientWrite(data: D, opts?: WriteOptions): Promise<ClientWriteResponse<R>> {
    const writes = this.#core.writes;
    let payload: EntryPayload;
    try {
      payload = writes.encode(data, opts === undefined ? undefined : sessionOf(opts));
    } catch (err) {
      return Promise.reject(err);
    }
    return writes.proposeOne(payload);
  }

  /**
   * Proposes `data` without waiting for it to be applied (openraft's `client_write_ff`): resolves with
   * its log id once this leader appended it to its log, and rejects only if it was refused before that
   * (`ForwardToLeader`, `Overloaded`, a bad payload). Whether it then commits is reported to
   * `opts.onOutcome` (the response `clientWrite` would have resolved with, or its error), or dropped
   * when none is given.
   */
  clientWriteFf(
    data: D,
    opts: WriteOptions & { onOutcome?: (outcome: ClientWriteResponse<R> | Error) => void } = {},
  ): Promise<LogId> {
    const writes = this.#core.writes;
    let payload: EntryPayload;
    try {
      payload = writes.encode(data, sessionOf(opts));
    } catch (err) {
      return Promise.reject(err);
    }
    return writes.proposeFf(payload, opts.onOutcome);
  }

  /** Proposes several writes in one batch. */
  clientWriteMany(data: readonly D[]): Promise<ClientWriteResponse<R>[]> {
    const writes = this.#core.writes;
    let payloads: EntryPayload[];
    try {
      payloads = data.map((d) => writes.encode(d));
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.all(writes.propose(payloads));
  }

  /** Confirms leadership and waits until the read point is applied. Returns the read point. */
  async ensureLinearizable(opts: { policy?: ReadPolicy } = {}): Promise<LogId | null> {
    const readLogId = await this.#core.reads.readPoint(opts.policy ?? 'readIndex');
    if (readLogId !== null) await this.wait().appliedIndex(readLogId.index, 'the read point to be applied');
    return readLogId;
  }

  /** Leader only (else `ForwardToLeader`): the read point for a follower read (see `ReadLinearizer`). */
  async getReadLinearizer(opts: { policy?: ReadPolicy } = {}): Promise<ReadLinearizer> {
    const readLogId = await this.#core.reads.readPoint(opts.policy ?? 'readIndex');
    return {
      readLogId,
      applied: this.#core.hub.current.lastApplied,
      awaitApplied: async (o = {}) => {
        if (readLogId === null) return;
        await this.wait(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }).appliedIndex(
          readLogId.index,
        );
      },
    };
  }

  // ================================================================== management API

  /**
   * Adds a learner; with `blocking` (default) waits until it has caught up. A node that already is a
   * member (voter or learner) is left as it is, as openraft does: the result says `added: false` and
   * carries the current membership's log id (blocking still waits for the node to catch up, unless
   * it is this leader).
   */
  async addLearner(
    id: NodeId,
    node: Node,
    opts: { blocking?: boolean; timeoutMs?: number } = {},
  ): Promise<AddLearnerResponse<R>> {
    const { loop, engine } = this.#core.parts;
    const leadership = this.#core.leadership;
    loop.ensureRunning();
    const plan = await loop.call(() =>
      leadership.requireLeader(
        (now) => {
          const current = engine.membership().effective;
          if (current.logId !== null && isMember(current.membership, id)) {
            return { logId: current.logId, added: false };
          }
          return { logId: engine.addLearner(id, node, now), added: true };
        },
        { writes: true },
      ),
    );
    const logId = plan.logId;
    const res: AddLearnerResponse<R> = plan.added
      ? { ...(await this.#core.writes.awaitApplied(logId)), added: true }
      : { logId, response: undefined as R, added: false };
    if ((opts.blocking ?? true) && id !== this.id) {
      const timeoutMs = opts.timeoutMs ?? this.#core.config.electionTimeoutMaxMs * 20;
      const target = logId.index;
      await this.wait({ timeoutMs }).until((m) => {
        if (m.state !== 'Leader') throw new ForwardToLeaderError(m.currentLeader, null);
        const r = m.replication?.[id];
        return r !== undefined && r.matching !== null && r.matching.index >= target;
      }, `learner ${id} to catch up`);
    }
    return res;
  }

  /** Changes the voter set through joint consensus; resolves once the final config is committed. */
  async changeMembership(
    voters: Iterable<NodeId>,
    opts: { retain?: boolean } = {},
  ): Promise<ClientWriteResponse<R>> {
    const { loop, engine } = this.#core.parts;
    const leadership = this.#core.leadership;
    loop.ensureRunning();
    const want = [...new Set(voters)].sort();
    const first = await loop.call(() =>
      leadership.requireLeader(
        (now) => engine.changeMembership(want, opts.retain === undefined ? {} : { retain: opts.retain }, now),
        { writes: true },
      ),
    );
    let res = await this.#core.writes.awaitApplied(first);
    // The engine proposes the uniform config once the joint one commits; wait for it to be applied.
    const done = (m: StoredMembership) =>
      m.membership.configs.length === 1 && sameIds(m.membership.configs[0] ?? [], want);
    const timeoutMs = this.#core.config.electionTimeoutMaxMs * 20;
    const metrics = await this.wait({ timeoutMs }).until(
      (m) => {
        if (m.error !== null) throw loop.stoppedAs ?? new StoppedError();
        if (m.state !== 'Leader' && !done(m.membership))
          throw new ForwardToLeaderError(m.currentLeader, null);
        return (
          done(m.membership) && m.lastApplied !== null && compareLogId(m.lastApplied, m.membership.logId) >= 0
        );
      },
      `membership {${want.join(',')}}`,
    );
    const finalId = metrics.membership.logId;
    if (finalId !== null && !logIdEquals(finalId, res.logId))
      res = { logId: finalId, response: res.response };
    return res;
  }

  /** Manual triggers. */
  get trigger(): Trigger {
    const { loop, engine, clock } = this.#core.parts;
    const leadership = this.#core.leadership;
    return {
      elect: () =>
        loop.call(() => {
          engine.elect(clock.now());
        }),
      heartbeat: () =>
        loop.call(() => {
          if (engine.serverState() === 'Leader') engine.heartbeat(clock.now());
        }),
      snapshot: () => this.#core.stateMachine.triggerSnapshot(),
      purgeLog: (upto: number) => this.#purgeLog(upto),
      transferLeader: (to: NodeId) =>
        loop.call(() =>
          leadership.requireLeader((now) => {
            engine.transferLeader(to, now);
            leadership.startTransfer(to);
          }),
        ),
    };
  }

  /** Runtime switches. */
  get runtimeConfig(): RuntimeToggles {
    return this.#core.toggles;
  }

  /** Stops the node. Pending writes fail with `OutcomeUnknown`; later calls with `Stopped`. */
  async shutdown(): Promise<void> {
    // Also after a fatal error: resolve only once no storage or state-machine call is running, so
    // the caller may close its stores.
    await this.#core.shutdown(new StoppedError('the node was shut down'));
    // Snapshot transfers end at the stop; their sinks are discarded before this resolves.
    await this.#rpc.transfersEnded();
  }

  /**
   * Purges the log up to `upto` (inclusive), never past the snapshot or the applied index. Resolves
   * with the purge point once that much is purged.
   */
  async #purgeLog(upto: number): Promise<LogId | null> {
    const { loop, engine } = this.#core.parts;
    loop.ensureRunning();
    if (!Number.isSafeInteger(upto) || upto < 0) {
      throw new InvalidRequestError('upto', 'expected a non-negative integer log index');
    }
    const target = await loop.call(() => {
      const snap = engine.snapshot()?.lastLogId ?? null;
      if (snap === null || upto > snap.index) {
        throw new InvalidRequestError('upto', `index ${upto} is not covered by a snapshot (build one first)`);
      }
      return engine.purgeUpTo(upto);
    });
    if (target !== null) {
      await this.wait().until(
        (m) => (m.purged?.index ?? -1) >= target.index,
        `the log purged up to ${target.index}`,
      );
    }
    return this.#core.hub.current.purged;
  }

  // ================================================================== protocol API (the RPC handler)

  /** Handles an AppendEntries from the leader. */
  appendEntries(req: AppendEntriesRequest): Promise<AppendEntriesResponse> {
    return this.#rpc.appendEntries(req);
  }

  /** Handles a vote or pre-vote request. */
  vote(req: VoteRequest): Promise<VoteResponse> {
    return this.#rpc.vote(req);
  }

  /** Serves a pipelined AppendEntries stream: replies are cumulative watermarks, each after a flush. */
  streamAppend(
    input: AsyncIterable<AppendEntriesRequest>,
    opts: { signal?: AbortSignal } = {},
  ): AsyncIterable<StreamAppendResult> {
    return this.#rpc.streamAppend(input, opts);
  }

  /**
   * Receives a whole snapshot from the leader and installs it. The chunks are spooled as they arrive
   * into the state machine's `beginReceivingSnapshot` sink (or held in memory without one). A stop
   * interrupts the transfer; `shutdown()` resolves only once its sink is discarded, and a sink is
   * discarded only once the install reading from it has ended.
   */
  installFullSnapshot(vote: Vote, meta: SnapshotMeta, data: SnapshotData): Promise<SnapshotResponse> {
    return this.#rpc.installFullSnapshot(vote, meta, data);
  }

  /** Handles the leader's request to take over leadership. */
  transferLeader(req: TransferLeaderRequest): Promise<void> {
    return this.#rpc.transferLeader(req);
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
