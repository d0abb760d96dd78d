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
  ApplyWriteOptions,
  ClientWriteCommitted,
  ClientWriteResponse,
  CommitWriteOptions,
  RaftApi,
  RaftMetricsApi,
  RaftOptions,
  RaftStateView,
  ReadLinearizer,
  ReadPolicy,
  RuntimeToggles,
  Trigger,
  WriteFfOptions,
  WriteManyOptions,
  WriteOptions,
} from './api.ts';
import type { RaftConfig } from './config.ts';
import { sessionOf, type WriteMode, writeModeOf } from './core/client-writes.ts';
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

  /**
   * Proposes `data` with `resolveAt: 'commit'`: resolves with its log id once the entry is committed
   * (openraft's commit-stage responder), without waiting for the state machine. The entry is still
   * applied, in order; its response is not reported. Once committed, the write resolves even if this
   * node stops leading before applying it. A stop before the commit fails it as any write
   * (`OutcomeUnknown` once appended, `Stopped` before).
   *
   * @example
   * ```ts
   * const { logId } = await raft.clientWrite(cmd, { resolveAt: 'commit' });
   * ```
   */
  clientWrite(data: D, opts: CommitWriteOptions): Promise<ClientWriteCommitted>;
  /**
   * Proposes `data`; resolves once applied, with its log id and the state machine's response.
   * Refused with `ForwardToLeader` on a node that is not the leader, or (with `expectedLeader`) once
   * another leader's vote is in force; with `Overloaded` past `maxPendingWrites`; with
   * `InvalidRequest` for malformed options. With `(clientId, sequence)` a retried write is applied
   * once.
   *
   * @example
   * ```ts
   * const { logId, response } = await raft.clientWrite(cmd);
   * // Only while the leader we read from still leads (openraft's `with_leader`):
   * const expectedLeader = raft.metrics.current.vote;
   * await raft.clientWrite(cmd, { expectedLeader });
   * ```
   */
  clientWrite(data: D, opts?: ApplyWriteOptions): Promise<ClientWriteResponse<R>>;
  /**
   * Proposes `data` with options whose resolve stage is known only at run time (a `WriteOptions`
   * value): resolves as one of the two forms above, `{logId, response}` once applied or `{logId}` once
   * committed.
   *
   * @example
   * ```ts
   * const opts: WriteOptions = fast ? { resolveAt: 'commit' } : {};
   * const res = await raft.clientWrite(cmd, opts);
   * if ('response' in res) use(res.response);
   * ```
   */
  clientWrite(data: D, opts?: WriteOptions): Promise<ClientWriteResponse<R> | ClientWriteCommitted>;
  clientWrite(data: D, opts?: WriteOptions): Promise<ClientWriteResponse<R> | ClientWriteCommitted> {
    // The common write stays small; options take their own path.
    if (opts !== undefined) return this.#clientWriteWith(data, opts);
    const writes = this.#core.writes;
    let payload: EntryPayload;
    try {
      payload = writes.encode(data);
    } catch (err) {
      return Promise.reject(err);
    }
    return writes.proposeOne(payload);
  }

  #clientWriteWith(data: D, opts: WriteOptions): Promise<ClientWriteResponse<R> | ClientWriteCommitted> {
    const writes = this.#core.writes;
    let payload: EntryPayload;
    let mode: WriteMode | null;
    try {
      checkOptions(opts);
      mode = writeModeOf(opts);
      payload = writes.encode(data, sessionOf(opts));
    } catch (err) {
      return Promise.reject(err);
    }
    if (mode === null) return writes.proposeOne(payload);
    return writes.proposeWith([payload], mode)[0] as Promise<ClientWriteResponse<R> | ClientWriteCommitted>;
  }

  /**
   * Proposes `data` without waiting for it to be applied (openraft's `client_write_ff`): resolves with
   * its log id once this leader appended it to its log, and rejects only if it was refused before that
   * (`ForwardToLeader`, `Overloaded`, a bad payload). Whether it then commits is reported to
   * `opts.onOutcome` (the response `clientWrite` would have resolved with, or its error), or dropped
   * when none is given. `expectedLeader` guards it as it does `clientWrite`.
   */
  clientWriteFf(data: D, opts: WriteFfOptions<R> = {}): Promise<LogId> {
    const writes = this.#core.writes;
    let payload: EntryPayload;
    let mode: WriteMode | null;
    try {
      checkOptions(opts);
      mode = writeModeOf(opts as WriteOptions);
      if (mode?.resolveAt === 'commit') {
        throw new InvalidRequestError(
          'resolveAt',
          'clientWriteFf resolves at append; use clientWrite for a commit',
        );
      }
      if (opts.onOutcome !== undefined && typeof opts.onOutcome !== 'function') {
        throw new InvalidRequestError('onOutcome', 'expected a function');
      }
      payload = writes.encode(data, sessionOf(opts));
    } catch (err) {
      return Promise.reject(err);
    }
    return writes.proposeFf(payload, opts.onOutcome, mode?.expectedLeader);
  }

  /**
   * Proposes several writes in one batch (one `append`), resolving once each is committed
   * (`resolveAt: 'commit'`, see `clientWrite`).
   */
  clientWriteMany(
    data: readonly D[],
    opts: WriteManyOptions & { resolveAt: 'commit' },
  ): Promise<ClientWriteCommitted[]>;
  /**
   * Proposes several writes in one batch (one `append`); resolves once all are applied, with each
   * write's response in order. `expectedLeader` guards the whole batch (see `clientWrite`).
   */
  clientWriteMany(
    data: readonly D[],
    opts?: WriteManyOptions & { resolveAt?: 'apply' },
  ): Promise<ClientWriteResponse<R>[]>;
  clientWriteMany(
    data: readonly D[],
    opts?: WriteManyOptions,
  ): Promise<(ClientWriteResponse<R> | ClientWriteCommitted)[]> {
    const writes = this.#core.writes;
    let payloads: EntryPayload[];
    let mode: WriteMode | null = null;
    try {
      if (opts !== undefined) {
        checkOptions(opts);
        mode = writeModeOf(opts);
      }
      payloads = data.map((d) => writes.encode(d));
    } catch (err) {
      return Promise.reject(err);
    }
    if (mode === null) return Promise.all(writes.propose(payloads));
    return Promise.all(writes.proposeWith(payloads, mode));
  }

  // ================================================================== escape hatches

  /**
   * Runs `fn` on the state machine this node was created with, between applies (openraft's
   * `with_state_machine`): after the applies the core loop commanded before this call, and nothing is
   * applied, installed or captured for a snapshot until `fn` (awaited when it returns a promise)
   * settled. Resolves with `fn`'s result; an error `fn` throws rejects this call only, never the node.
   * Rejects with `StoppedError` once the node stopped (also when it stops before `fn` ran).
   *
   * @example
   * ```ts
   * const sm = memoryStateMachine<number, number, number>({ initial: 0, apply: (s, n) => [s + n, s + n] });
   * const raft = await Raft.create({ id: 'a', network, logStore, stateMachine: sm });
   * const value = await raft.withStateMachine(() => sm.state); // no apply runs meanwhile
   * ```
   */
  async withStateMachine<T>(fn: (sm: RaftStateMachine<D, R>) => T | PromiseLike<T>): Promise<T> {
    const { loop } = this.#core.parts;
    loop.ensureRunning();
    if (typeof fn !== 'function') throw new InvalidRequestError('fn', 'expected a function');
    const sm = this.#core.stateMachine;
    return await loop.call(() => sm.withStateMachine(fn));
  }

  /**
   * Runs `fn` inside the core loop with a frozen deep copy of this node's Raft state (openraft's
   * `with_raft_state`): vote, log ids, memberships, role, the leader's per-target progress. Nothing
   * else runs in the loop meanwhile, so the copy is the state as of that moment; changing it throws
   * in strict mode and never affects the node. `fn` must be synchronous: the loop does not wait for a
   * promise it returns (this call then resolves with that promise's value, read outside the loop).
   * Resolves with `fn`'s result; an error `fn` throws rejects this call only. Rejects with
   * `StoppedError` once the node stopped.
   *
   * @example
   * ```ts
   * const committed = await raft.withRaftState((s) => s.committed);
   * ```
   */
  async withRaftState<T>(fn: (state: RaftStateView) => T): Promise<T> {
    const { loop } = this.#core.parts;
    loop.ensureRunning();
    if (typeof fn !== 'function') throw new InvalidRequestError('fn', 'expected a function');
    const core = this.#core;
    const outcome = await loop.call((): { ok: true; value: T } | { ok: false; err: unknown } => {
      try {
        return { ok: true, value: fn(core.raftState()) };
      } catch (err) {
        return { ok: false, err }; // the caller's error, never the loop's
      }
    });
    if (!outcome.ok) throw outcome.err;
    return outcome.value;
  }

  /**
   * Queues `fn` to run inside the core loop with a frozen deep copy of this node's Raft state (as
   * `withRaftState` gives), fire-and-forget (openraft's `external_request`): nothing reports when it
   * ran; an error it throws is logged at warn and dropped. Throws `StoppedError` once the node stopped;
   * a request still queued at a stop never runs.
   *
   * @example
   * ```ts
   * raft.externalRequest((s) => {
   *   if (s.serverState === 'Leader') dashboard.show(s.progress);
   * });
   * ```
   */
  externalRequest(fn: (state: RaftStateView) => void): void {
    const { loop, logger } = this.#core.parts;
    loop.ensureRunning();
    if (typeof fn !== 'function') throw new InvalidRequestError('fn', 'expected a function');
    const core = this.#core;
    loop.enqueue(() => {
      try {
        fn(core.raftState());
      } catch (err) {
        logger.warn('an external request threw', { err: String(err) });
      }
    });
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
      allowNextRevert: (target: NodeId, allow: boolean) => {
        if (typeof allow !== 'boolean') {
          return Promise.reject(new InvalidRequestError('allow', `expected a boolean, got ${typeof allow}`));
        }
        return loop.call(() => leadership.requireLeader((now) => engine.allowNextRevert(target, allow, now)));
      },
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

/** A write's options must be an object (`InvalidRequest` otherwise). */
function checkOptions(opts: unknown): void {
  if (opts === null || typeof opts !== 'object') {
    throw new InvalidRequestError('opts', 'expected an options object');
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
