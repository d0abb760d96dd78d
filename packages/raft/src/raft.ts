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
  addVotersOf,
  type ChangeMembers,
  compareLogId,
  type EntryPayload,
  ForwardToLeaderError,
  InvalidRequestError,
  isJoint,
  isMember,
  type LogId,
  learnerIds,
  logIdEquals,
  type Membership,
  type Node,
  type NodeId,
  nodesOfChangeMembers,
  type RaftNetworkFactory,
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
  validateChangeMembers,
  validateLogId,
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
  readonly #network: RaftNetworkFactory;

  private constructor(
    core: RaftCore<D, R>,
    rpc: RpcHandler<D, R>,
    sm: RaftStateMachine<D, R>,
    network: RaftNetworkFactory,
  ) {
    this.id = core.id;
    this.#core = core;
    this.#rpc = rpc;
    this.#sm = sm;
    this.#network = network;
  }

  /**
   * Creates and starts a node: reads the vote, log state, committed id, state-machine state and
   * snapshot, hands them to the engine, and starts the timers. A node whose storage is empty waits for
   * `initialize` (or for a leader to contact it).
   */
  static async create<D, R>(opts: RaftOptions<D, R>): Promise<Raft<D, R>> {
    const core = await RaftCore.create<D, R>(opts);
    return new Raft<D, R>(
      core,
      new RpcHandler<D, R>(core, opts.stateMachine),
      opts.stateMachine,
      opts.network,
    );
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

  /**
   * Initializes a new cluster whose voters are the keys of `nodes`. An address the network refuses
   * (`RaftNetworkFactory.validateAddress`) fails with `InvalidRequestError` naming the node.
   */
  async initialize(nodes: Record<NodeId, Node>): Promise<void> {
    const { loop, engine, clock } = this.#core.parts;
    loop.ensureRunning();
    const membership: Membership = uniformMembership(nodes);
    this.#checkAddresses(Object.entries(membership.nodes), 'nodes');
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
   * Adds a learner; with `blocking` (default) waits until it has caught up, as openraft does: until it
   * lags at most `config.replicationLagThreshold` entries behind this leader's last log index (0: until
   * it matches it). A node that already is a member (voter or learner) is left as it is, as openraft
   * does: the result says `added: false` and carries the current membership's log id (blocking still
   * waits for the node to catch up, unless it is this leader). An address the network refuses
   * (`RaftNetworkFactory.validateAddress`) fails with `InvalidRequestError` before anything is proposed.
   */
  async addLearner(
    id: NodeId,
    node: Node,
    opts: { blocking?: boolean; timeoutMs?: number } = {},
  ): Promise<AddLearnerResponse<R>> {
    const { loop, engine } = this.#core.parts;
    const leadership = this.#core.leadership;
    loop.ensureRunning();
    this.#checkAddresses([[id, node]], 'node');
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
      await this.#awaitCaughtUp([id], logId, opts.timeoutMs ?? this.#defaultTimeoutMs());
    }
    return res;
  }

  /**
   * Waits until every node of `ids` still a member lags at most `replicationLagThreshold` entries behind
   * this leader's last log index (openraft's `check_replication_upto_date`), once the metrics show the
   * membership at `membershipLogId` or later. Fails with `ForwardToLeader` if this node stops leading.
   */
  async #awaitCaughtUp(ids: readonly NodeId[], membershipLogId: LogId, timeoutMs: number): Promise<void> {
    const threshold = this.#core.config.replicationLagThreshold;
    await this.wait({ timeoutMs }).until(
      (m) => {
        if (m.state !== 'Leader') throw new ForwardToLeaderError(m.currentLeader, null);
        if (compareLogId(m.membership.logId, membershipLogId) < 0) return false;
        const last = m.lastLogIndex ?? -1;
        return ids.every((id) => {
          if (!isMember(m.membership.membership, id)) return true; // removed meanwhile: nothing to wait for
          const r = m.replication?.[id];
          if (r === undefined) return false; // not reported yet
          return last - (r.matching?.index ?? -1) <= threshold;
        });
      },
      `${ids.join(', ')} to catch up within ${threshold} entries`,
    );
  }

  #defaultTimeoutMs(): number {
    return this.#core.config.electionTimeoutMaxMs * 20;
  }

  /**
   * Asks the network whether it can use each node's address; throws `InvalidRequestError` (at
   * `path.id.addr`) for the first it refuses. Nothing is proposed before this passes.
   */
  #checkAddresses(nodes: Iterable<readonly [NodeId, Node]>, path: string): void {
    const network = this.#network;
    if (network.validateAddress === undefined) return;
    for (const [id, node] of nodes) {
      let why: string | null;
      try {
        why = network.validateAddress(node);
      } catch (err) {
        why = String(err);
      }
      if (why !== null) {
        throw new InvalidRequestError(
          `${path}.${id}.addr`,
          `node ${id}: the network cannot use address ${JSON.stringify(node.addr)}: ${why}`,
        );
      }
    }
  }

  /**
   * Changes the membership; resolves once the final config is applied on this leader. `changes` is a
   * voter set (openraft's `ReplaceAllVoters`) or a `ChangeMembers`. A change of the voter set goes
   * through joint consensus (the joint config, then the uniform one); a change of nodes only
   * (`addNodes`, `setNodes`, `removeNodes`, `replaceAllNodes`) is one entry. `addVoters` first adds
   * its new nodes as learners and waits for them to catch up as a blocking `addLearner` does (if the
   * call fails after that, they stay learners). `retain` keeps removed voters as learners.
   *
   * Refused before anything is proposed: a malformed change or an address the network refuses
   * (`InvalidRequestError`); then, by the leader, with `ChangeMembershipError` ('InProgress',
   * 'EmptyMembership', 'LearnerNotFound', 'NodeIsVoter', 'NotCaughtUp', 'Invalid') or
   * `ForwardToLeader`.
   *
   * @example
   * ```ts
   * await raft.changeMembership({ addVoters: { d: { addr: '10.0.0.4:7000' } } });
   * await raft.changeMembership({ removeVoters: ['a'] }, { retain: true });
   * await raft.changeMembership({ removeNodes: ['a'] });
   * ```
   */
  changeMembership(
    changes: Iterable<NodeId> | ChangeMembers,
    opts: { retain?: boolean } = {},
  ): Promise<ClientWriteResponse<R>> {
    return this.#changeMembers(undefined, changes, opts);
  }

  /**
   * `changeMembership`, only if the effective membership is still the one at `expectedMembershipLogId`
   * (`null`: no membership yet): otherwise refused with `ChangeMembershipError` 'MembershipChanged'. The
   * check and the proposal are one step of the core loop, so no other change can come between them
   * (openraft's `LastMembershipLogId` precondition). A two-step change (`addVoters`' learner step, the
   * joint config) checks once, at its first proposal.
   */
  changeMembershipIf(
    expectedMembershipLogId: LogId | null,
    changes: Iterable<NodeId> | ChangeMembers,
    opts: { retain?: boolean } = {},
  ): Promise<ClientWriteResponse<R>> {
    try {
      if (expectedMembershipLogId !== null) validateLogId(expectedMembershipLogId, 'expectedMembershipLogId');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#changeMembers(expectedMembershipLogId, changes, opts);
  }

  async #changeMembers(
    expected: LogId | null | undefined,
    input: Iterable<NodeId> | ChangeMembers,
    opts: { retain?: boolean },
  ): Promise<ClientWriteResponse<R>> {
    const { loop, engine } = this.#core.parts;
    const leadership = this.#core.leadership;
    loop.ensureRunning();
    const changes = toChangeMembers(input);
    this.#checkAddresses(nodesOfChangeMembers(changes), 'changes');
    const retain = opts.retain === undefined ? {} : { retain: opts.retain };
    let expectedId = expected;
    const newVoters = addVotersOf(changes);
    if (Object.keys(newVoters).length > 0) {
      // addVoters' learner step: the nodes not yet members join as learners and catch up first.
      const step = await loop.call(() =>
        leadership.requireLeader(
          (now) => {
            const current = engine.membership().effective.membership;
            const fresh = Object.entries(newVoters).filter(([id]) => !isMember(current, id));
            if (fresh.length === 0) return null;
            const ifAt = expectedId === undefined ? {} : { expectedMembershipLogId: expectedId };
            const { logId } = engine.changeMembers({ addNodes: Object.fromEntries(fresh) }, ifAt, now);
            return { logId, ids: fresh.map(([id]) => id) };
          },
          { writes: true },
        ),
      );
      if (step !== null) {
        await this.#core.writes.awaitApplied(step.logId);
        const others = step.ids.filter((id) => id !== this.id);
        await this.#awaitCaughtUp(others, step.logId, this.#defaultTimeoutMs());
        if (expectedId !== undefined) expectedId = step.logId;
      }
    }
    const first = await loop.call(() =>
      leadership.requireLeader(
        (now) => {
          const ifAt = expectedId === undefined ? {} : { expectedMembershipLogId: expectedId };
          const r = engine.changeMembers(changes, { ...retain, ...ifAt }, now);
          return { ...r, joint: isJoint(engine.membership().effective.membership) };
        },
        { writes: true },
      ),
    );
    let res = await this.#core.writes.awaitApplied(first.logId);
    if (!first.joint) return res;
    // The engine proposes the uniform config once the joint one commits; wait for it to be applied.
    const want = first.voters;
    const done = (m: StoredMembership) =>
      m.logId !== null &&
      compareLogId(m.logId, first.logId) > 0 &&
      m.membership.configs.length === 1 &&
      sameIds(m.membership.configs[0] ?? [], want);
    const metrics = await this.wait({ timeoutMs: this.#defaultTimeoutMs() }).until(
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

/**
 * A voter set becomes `{replaceAllVoters}` (its ids checked); anything else must have the shape of a
 * `ChangeMembers`. Throws `InvalidRequestError`.
 */
function toChangeMembers(input: Iterable<NodeId> | ChangeMembers): ChangeMembers {
  if (input !== null && typeof input === 'object' && !(Symbol.iterator in input)) {
    return validateChangeMembers(input);
  }
  if (
    input === null ||
    input === undefined ||
    typeof (input as Iterable<NodeId>)[Symbol.iterator] !== 'function'
  ) {
    throw new InvalidRequestError('changes', 'expected a voter set (node ids) or a ChangeMembers object');
  }
  const ids = [...new Set(input as Iterable<NodeId>)];
  return validateChangeMembers({ replaceAllVoters: ids });
}
