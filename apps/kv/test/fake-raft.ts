import {
  type AddLearnerResponse,
  type ApplyWriteOptions,
  type ClientWriteCommitted,
  type ClientWriteResponse,
  type CommitWriteOptions,
  createConfig,
  MetricsHub,
  type RaftApi,
  type RaftConfig,
  type RaftStateView,
  type ReadLinearizer,
  systemClock,
  Wait,
  type WriteFfOptions,
  type WriteManyOptions,
  type WriteOptions,
} from '@flotilla/raft';
import {
  type AppendEntriesResponse,
  type ChangeMembers,
  ChangeMembershipError,
  emptyStoredMembership,
  ForwardToLeaderError,
  InitializeError,
  type LogId,
  learnerIds,
  type Membership,
  type Node,
  type NodeId,
  planChangeMembers,
  type RaftMetrics,
  type Snapshot,
  type SnapshotResponse,
  StoppedError,
  type StreamAppendResult,
  type VoteResponse,
  voterIds,
} from '@flotilla/types';
import type { KvRequest, KvResponse } from '../src/kv-state.ts';
import { KvState } from '../src/kv-state.ts';

/**
 * A single-process stand-in for `Raft` that obeys the `RaftApi` contract closely enough to test the
 * HTTP layer: it is leader once initialized (unless `followerOf` is set), applies writes at once to
 * a `KvState`, and answers `ForwardToLeader` as a follower. Test-only.
 */
export class FakeRaft implements RaftApi<KvRequest, KvResponse> {
  readonly id: NodeId;
  readonly kv = new KvState();
  readonly hub: MetricsHub;
  readonly calls: string[] = [];
  #index = -1;
  #membership: Membership = { configs: [], nodes: {} };
  #membershipLogId: LogId | null = null;
  #stopped = false;

  constructor(id: NodeId, opts: { followerOf?: { id: NodeId; node: Node } } = {}) {
    this.id = id;
    const base: RaftMetrics = {
      id,
      state: 'Learner',
      currentTerm: 0,
      vote: { term: 0, nodeId: null, committed: false },
      lastLogIndex: null,
      committed: null,
      lastApplied: null,
      snapshot: null,
      purged: null,
      currentLeader: null,
      membership: emptyStoredMembership(),
      committedMembership: emptyStoredMembership(),
      replication: null,
      lastQuorumAcked: null,
      millisSinceQuorumAck: null,
      error: null,
    };
    if (opts.followerOf !== undefined) {
      const { id: lid, node } = opts.followerOf;
      this.#membership = {
        configs: [[lid, id].sort()],
        nodes: { [lid]: node, [id]: { addr: `fake:${id}` } },
      };
      base.state = 'Follower';
      base.currentTerm = 3;
      base.vote = { term: 3, nodeId: lid, committed: true };
      base.currentLeader = lid;
      base.membership = { logId: { term: 1, index: 0 }, membership: this.#membership };
      base.committedMembership = base.membership;
    }
    this.hub = new MetricsHub(base);
  }

  get metrics(): RaftApi<KvRequest, KvResponse>['metrics'] {
    const hub = this.hub;
    const unused = (): never => {
      throw new Error('FakeRaft: flotilla-kv does not use per-kind metrics subscriptions');
    };
    return {
      get current() {
        return hub.current;
      },
      subscribe: (l) => hub.subscribe(l),
      watch: unused,
      onLeaderChange: unused,
    };
  }

  #publish(patch: Partial<RaftMetrics>): void {
    this.hub.publish({ ...this.hub.current, ...patch });
  }

  #append(membership = false): LogId {
    this.#index++;
    const logId = { term: 1, index: this.#index };
    if (membership) this.#membershipLogId = logId;
    const others = Object.keys(this.#membership.nodes).filter((n) => n !== this.id);
    this.#publish({
      lastLogIndex: logId.index,
      committed: logId,
      lastApplied: logId,
      replication: Object.fromEntries(
        others.map((n) => [n, { matching: logId, mode: 'pipeline' as const, lastAcked: null }]),
      ),
      membership: { logId: this.#membershipLogId, membership: this.#membership },
      // The fake commits every entry at once.
      committedMembership: { logId: this.#membershipLogId, membership: this.#membership },
    });
    return logId;
  }

  #requireLeader(): void {
    if (this.#stopped) throw new StoppedError();
    const m = this.hub.current;
    if (m.state !== 'Leader') {
      const lid = m.currentLeader;
      throw new ForwardToLeaderError(lid, lid === null ? null : (this.#membership.nodes[lid] ?? null));
    }
  }

  async initialize(nodes: Record<NodeId, Node>): Promise<void> {
    this.calls.push(`initialize ${JSON.stringify(nodes)}`);
    if (this.#index >= 0) throw new InitializeError('NotAllowed', 'already initialized');
    if (!Object.hasOwn(nodes, this.id)) throw new InitializeError('NotInMembers', 'not in members');
    this.#membership = { configs: [Object.keys(nodes).sort()], nodes: { ...nodes } };
    this.#publish({
      state: 'Leader',
      currentTerm: 1,
      vote: { term: 1, nodeId: this.id, committed: true },
      currentLeader: this.id,
    });
    this.#append(true);
    this.#append();
  }

  readonly config: Readonly<RaftConfig> = createConfig();

  isInitialized(): boolean {
    return this.#index >= 0 || this.hub.current.vote.term !== 0;
  }

  isLeader(): boolean {
    return this.hub.current.state === 'Leader';
  }

  currentLeader(): NodeId | null {
    return this.hub.current.currentLeader;
  }

  voterIds(): NodeId[] {
    return voterIds(this.#membership);
  }

  learnerIds(): NodeId[] {
    return learnerIds(this.#membership);
  }

  async getSnapshot(): Promise<Snapshot | null> {
    return null;
  }

  clientWrite(data: KvRequest, opts: CommitWriteOptions): Promise<ClientWriteCommitted>;
  clientWrite(data: KvRequest, opts?: ApplyWriteOptions): Promise<ClientWriteResponse<KvResponse>>;
  async clientWrite(
    data: KvRequest,
    opts?: WriteOptions,
  ): Promise<ClientWriteResponse<KvResponse> | ClientWriteCommitted> {
    this.#requireLeader();
    const response = this.kv.apply(data);
    const logId = this.#append();
    return opts?.resolveAt === 'commit' ? { logId } : { logId, response };
  }

  async clientWriteFf(data: KvRequest, opts: WriteFfOptions<KvResponse> = {}): Promise<LogId> {
    const res = await this.clientWrite(data);
    opts.onOutcome?.(res);
    return res.logId;
  }

  clientWriteMany(
    data: readonly KvRequest[],
    opts: WriteManyOptions & { resolveAt: 'commit' },
  ): Promise<ClientWriteCommitted[]>;
  clientWriteMany(
    data: readonly KvRequest[],
    opts?: WriteManyOptions & { resolveAt?: 'apply' },
  ): Promise<ClientWriteResponse<KvResponse>[]>;
  async clientWriteMany(
    data: readonly KvRequest[],
    opts?: WriteManyOptions,
  ): Promise<(ClientWriteResponse<KvResponse> | ClientWriteCommitted)[]> {
    const out: (ClientWriteResponse<KvResponse> | ClientWriteCommitted)[] = [];
    for (const d of data) {
      const res = await this.clientWrite(d);
      out.push(opts?.resolveAt === 'commit' ? { logId: res.logId } : res);
    }
    return out;
  }

  async withStateMachine<T>(): Promise<T> {
    throw new Error('FakeRaft has no RaftStateMachine (flotilla-kv does not use withStateMachine)');
  }

  async withRaftState<T>(fn: (state: RaftStateView) => T): Promise<T> {
    return fn(this.#state());
  }

  externalRequest(fn: (state: RaftStateView) => void): void {
    if (this.#stopped) throw new StoppedError();
    queueMicrotask(() => fn(this.#state()));
  }

  /** The fake's Raft state, from its metrics (frozen, as the real node's). */
  #state(): RaftStateView {
    if (this.#stopped) throw new StoppedError();
    const m = this.hub.current;
    const membership = { logId: this.#membershipLogId, membership: this.#membership };
    return Object.freeze({
      id: this.id,
      serverState: m.state,
      vote: m.vote,
      currentLeader: m.currentLeader,
      lastLogId: m.committed,
      committed: m.committed,
      applied: m.lastApplied,
      purged: m.purged,
      snapshot: m.snapshot,
      membership: { effective: membership, committed: membership },
      progress: m.replication,
    });
  }

  async ensureLinearizable(): Promise<LogId | null> {
    this.#requireLeader();
    return this.hub.current.committed;
  }

  async getReadLinearizer(): Promise<ReadLinearizer> {
    this.#requireLeader();
    return {
      readLogId: this.hub.current.committed,
      applied: this.hub.current.lastApplied,
      awaitApplied: async () => {},
    };
  }

  async addLearner(
    id: NodeId,
    node: Node,
    opts?: { blocking?: boolean; timeoutMs?: number },
  ): Promise<AddLearnerResponse<KvResponse>> {
    this.#requireLeader();
    this.calls.push(`addLearner ${id} ${node.addr} blocking=${String(opts?.blocking)}`);
    this.#membership = { ...this.#membership, nodes: { ...this.#membership.nodes, [id]: node } };
    this.#append(true);
    return { logId: this.#membershipLogId as LogId, response: { value: null, applied: true }, added: true };
  }

  async changeMembership(
    changes: Iterable<NodeId> | ChangeMembers,
  ): Promise<ClientWriteResponse<KvResponse>> {
    this.#requireLeader();
    if (!(Symbol.iterator in changes)) {
      // The real planner (types), applied at once: the fake has no joint step.
      const { target } = planChangeMembers(this.#membership, changes);
      this.calls.push(`changeMembership ${JSON.stringify(changes)}`);
      this.#membership = { configs: [target.voters], nodes: target.nodes };
      this.#append(true);
      return { logId: this.#membershipLogId as LogId, response: { value: null, applied: true } };
    }
    const ids = [...changes].sort();
    if (ids.length === 0) throw new ChangeMembershipError('EmptyMembership', 'empty');
    for (const id of ids) {
      if (!Object.hasOwn(this.#membership.nodes, id)) {
        throw new ChangeMembershipError('LearnerNotFound', `node ${id} is not a learner`);
      }
    }
    this.calls.push(`changeMembership ${ids.join(',')}`);
    const nodes = Object.fromEntries(Object.entries(this.#membership.nodes).filter(([k]) => ids.includes(k)));
    this.#membership = { configs: [ids], nodes };
    this.#append(true);
    return { logId: this.#membershipLogId as LogId, response: { value: null, applied: true } };
  }

  async changeMembershipIf(
    expected: LogId | null,
    changes: Iterable<NodeId> | ChangeMembers,
  ): Promise<ClientWriteResponse<KvResponse>> {
    const cur = this.#membershipLogId;
    if (cur?.term !== expected?.term || cur?.index !== expected?.index) {
      throw new ChangeMembershipError('MembershipChanged', 'the membership changed');
    }
    return this.changeMembership(changes);
  }

  wait(opts?: { timeoutMs?: number }): Wait {
    return new Wait(this.hub, systemClock, opts?.timeoutMs ?? 1000);
  }

  readonly trigger = {
    elect: async () => {},
    heartbeat: async () => {},
    snapshot: async () => this.hub.current.lastApplied,
    // Cast: keeps the fake valid while the trigger's result type evolves.
    purgeLog: (async () => this.hub.current.purged) as unknown as RaftApi<
      KvRequest,
      KvResponse
    >['trigger']['purgeLog'],
    transferLeader: async () => {},
    allowNextRevert: async () => {},
  };

  readonly runtimeConfig = { tick() {}, heartbeat() {}, elect() {} };

  async shutdown(): Promise<void> {
    this.#stopped = true;
    this.#publish({ state: 'Shutdown', error: { code: 'STOPPED', message: 'the node is stopped' } });
    this.hub.close();
  }

  async appendEntries(): Promise<AppendEntriesResponse> {
    throw new Error('FakeRaft serves no RPCs');
  }
  async vote(): Promise<VoteResponse> {
    throw new Error('FakeRaft serves no RPCs');
  }
  // biome-ignore lint/correctness/useYield: serves no RPCs
  async *streamAppend(): AsyncIterable<StreamAppendResult> {
    throw new Error('FakeRaft serves no RPCs');
  }
  async installFullSnapshot(): Promise<SnapshotResponse> {
    throw new Error('FakeRaft serves no RPCs');
  }
  async transferLeader(): Promise<void> {
    throw new Error('FakeRaft serves no RPCs');
  }
}
