import type {
  ChangeMembers,
  Clock,
  Codec,
  Logger,
  LogId,
  Node,
  NodeId,
  RaftLogStorage,
  RaftMetrics,
  RaftNetworkFactory,
  RaftRpcHandler,
  RaftStateMachine,
  ReplicationMetrics,
  ServerState,
  Snapshot,
  StoredMembership,
  Vote,
} from '@flotilla/types';
import type { RaftConfig, RaftConfigInput } from './config.ts';
import type { Wait } from './metrics.ts';
import type { LeaderChange, WatchKind, WatchListener } from './metrics-watch.ts';

/** What `Raft.create` needs. */
export interface RaftOptions<D, R> {
  /** This node's id. */
  id: NodeId;
  /** Configuration; every field has a default (see `DEFAULT_CONFIG`). */
  config?: RaftConfigInput;
  /** Makes clients to the other nodes. */
  network: RaftNetworkFactory;
  /** Durable log and vote storage. */
  logStore: RaftLogStorage;
  /** The application's state machine. */
  stateMachine: RaftStateMachine<D, R>;
  /** Encodes application data once, at `clientWrite`. Default: msgpack. */
  codec?: Codec<D>;
  /** Time and timers. Default: the system clock. */
  clock?: Clock;
  /** Uniform random numbers in [0, 1) for election timeouts. Default: `Math.random`. */
  random?: () => number;
  /** Logger. Default: silent. */
  logger?: Logger;
}

/** A node's metrics: the current value and subscriptions (openraft's `metrics()`, `watch_*_progress`, `on_cluster_leader_change`). */
export interface RaftMetricsApi {
  /** The current metrics (a plain, immutable object). */
  readonly current: RaftMetrics;
  /** Calls `listener` with every new metrics value from now on; returns the unsubscribe function. */
  subscribe(listener: (m: RaftMetrics) => void): () => void;
  /**
   * Calls `listener(value, previous)` only when the `kind` value changes (`applied`, `committed`,
   * `log`, `vote`, `snapshot`, `membership`, `state`), so a caller does not diff whole metrics
   * objects; returns the unsubscribe function. An unknown kind throws `InvalidRequestError`.
   */
  watch<K extends WatchKind>(kind: K, listener: WatchListener<K>): () => void;
  /** Calls `listener` each time the leader this node knows of changes; returns the unsubscribe function. */
  onLeaderChange(listener: (change: LeaderChange) => void): () => void;
}

/** Options of a write. */
export interface WriteOptions {
  /**
   * Identifies a client session for exactly-once application: a write retried with the same
   * `(clientId, sequence)` is applied once (Raft thesis §6.3).
   */
  clientId?: string;
  /** The write's sequence number in its client session (increasing). */
  sequence?: number;
  /**
   * The leader this write is meant for (openraft's `WriteRequest::with_leader`): the write is refused
   * with `ForwardToLeaderError` unless this node's committed leader vote has this term and node id
   * when the core loop is about to append it. A client that read the leader's vote before deciding
   * what to write uses it to make sure no other leader came between its read and its write. Pass the
   * vote from the metrics: any `Vote` fits.
   *
   * @example
   * ```ts
   * const expectedLeader = raft.metrics.current.vote; // { term, nodeId, committed: true } on a leader
   * const value = readSomething();
   * await raft.clientWrite(compute(value), { expectedLeader });
   * ```
   */
  expectedLeader?: LeaderVote;
  /**
   * When the write's promise settles: `'apply'` (the default) once the state machine applied it, with
   * its response; `'commit'` once it is committed (openraft's commit-stage responder), with its log id
   * only. A write resolved at commit is still applied; its response is not waited for.
   */
  resolveAt?: ResolveAt;
}

/** The term and node of a leader's vote (any `Vote` fits): see {@link WriteOptions.expectedLeader}. */
export interface LeaderVote {
  /** The leader's term. */
  readonly term: number;
  /** The leader's node id. */
  readonly nodeId: NodeId | null;
}

/** When a write resolves: once applied (with the state machine's response) or once committed. */
export type ResolveAt = 'apply' | 'commit';

/** Options of a write that resolves once committed (see {@link WriteOptions.resolveAt}). */
export interface CommitWriteOptions extends WriteOptions {
  /** Resolve once committed. */
  resolveAt: 'commit';
}

/** Options of a write that resolves once applied (the default). */
export interface ApplyWriteOptions extends WriteOptions {
  /** Resolve once applied (the default). */
  resolveAt?: 'apply';
}

/** Options of `clientWriteMany`: the batch's writes share them. */
export interface WriteManyOptions {
  /** See {@link WriteOptions.expectedLeader}. */
  expectedLeader?: LeaderVote;
  /** See {@link WriteOptions.resolveAt}. */
  resolveAt?: ResolveAt;
}

/** Options of `clientWriteFf`: those of a write, and where its outcome goes. */
export interface WriteFfOptions<R> extends Omit<WriteOptions, 'resolveAt'> {
  /**
   * Called with what `clientWrite` would have resolved (or rejected) with; omitted: the outcome is
   * dropped.
   */
  onOutcome?: (outcome: ClientWriteResponse<R> | Error) => void;
}

/** The result of a write resolved at commit: where it landed. It is applied later. */
export interface ClientWriteCommitted {
  /** The log id the write was given; the entry is committed. */
  logId: LogId;
}

/**
 * A frozen deep copy of a node's Raft state (openraft's `RaftState`), handed to `withRaftState` and
 * `externalRequest`. Changing it throws in strict mode and never affects the node.
 */
export interface RaftStateView {
  /** This node. */
  readonly id: NodeId;
  /** Its role. */
  readonly serverState: ServerState;
  /** The vote in force (on a leader: committed, naming itself). */
  readonly vote: Readonly<Vote>;
  /** The leader this node knows of (itself when leading). */
  readonly currentLeader: NodeId | null;
  /** The last log id. */
  readonly lastLogId: Readonly<LogId> | null;
  /** The last committed log id. */
  readonly committed: Readonly<LogId> | null;
  /** The last log id the state machine reported applied to the engine. */
  readonly applied: Readonly<LogId> | null;
  /** The last purged log id. */
  readonly purged: Readonly<LogId> | null;
  /** The last log id of the current snapshot. */
  readonly snapshot: Readonly<LogId> | null;
  /** The effective membership (in force from its append) and the committed one. */
  readonly membership: {
    readonly effective: Readonly<StoredMembership>;
    readonly committed: Readonly<StoredMembership>;
  };
  /** The leader's per-target replication progress; `null` when not leader. */
  readonly progress: Readonly<Record<NodeId, Readonly<ReplicationMetrics>>> | null;
}

/** The result of a write: where it landed and what the state machine answered. */
export interface ClientWriteResponse<R> {
  /** The log id the write was given. */
  logId: LogId;
  /** The state machine's response. */
  response: R;
}

/** What `addLearner` resolves with. */
export interface AddLearnerResponse<R> extends ClientWriteResponse<R> {
  /**
   * `false` when the node already was a member (voter or learner): nothing was appended or changed
   * (not even its address; `changeMembership` changes that), and `logId` is the current membership's.
   */
  added: boolean;
}

/** How a linearizable read is confirmed. */
export type ReadPolicy =
  /** Confirm leadership with a round of heartbeats to a quorum (always safe). */
  | 'readIndex'
  /** Rely on the leader lease (no round trip; safe while clock drift stays within `maxClockDrift`). */
  | 'lease';

/** The leader's read point. A follower read relays `readLogId` and waits there with `wait().appliedIndex`. */
export interface ReadLinearizer {
  /** The log id the read must see applied. */
  readLogId: LogId | null;
  /**
   * What the leader had applied when the read point was confirmed (openraft's `Linearizer::applied`):
   * when it is at or past `readLogId`, a read needs no wait on the leader.
   */
  applied: LogId | null;
  /** Waits until the node that made it (the leader) has applied `readLogId`; then a read there is linearizable. */
  awaitApplied(opts?: { timeoutMs?: number }): Promise<void>;
}

/** Events to trigger by hand (tests, operators). */
export interface Trigger {
  /** Start an election now. */
  elect(): Promise<void>;
  /** Send heartbeats now (leader only). */
  heartbeat(): Promise<void>;
  /**
   * Build a snapshot now; resolves with the last log id of a snapshot covering at least everything
   * applied when it was called (if a build is already running, another one follows it).
   */
  snapshot(): Promise<LogId | null>;
  /**
   * Purge this node's log up to index `upto` inclusive, never past the applied index (waits while a
   * replication stream still reads the range; a follower that then lacks purged entries gets the
   * snapshot). `maxInSnapshotLogToKeep` and `purgeBatchSize` do not apply to an explicit purge.
   * Resolves with the purge point (beyond `upto` only if a policy purge was already pending);
   * `InvalidRequest` when `upto` is not a valid index or no snapshot covers it.
   */
  purgeLog(upto: number): Promise<LogId | null>;
  /**
   * Hand leadership to `to` (leader only); resolves once the request is sent. Until this leader's
   * term ends, it refuses writes and membership changes (`ForwardToLeader` naming `to`) and reads
   * (it sends no heartbeat), so the term ends within about an election timeout even if `to` never
   * takes over: the other voters elect a leader, or check-quorum deposes this one.
   */
  transferLeader(to: NodeId): Promise<void>;
  /**
   * Leader only: the next log reversion of `target` (its log went back behind what it acknowledged,
   * e.g. you wiped its disk on purpose) is repaired (`allow: true`) or refused (`false`), once,
   * whatever `allowLogReversion` says (openraft's `allow_next_revert`). A target whose reversion was
   * already refused is resumed at once and repaired. `ForwardToLeader` on a non-leader;
   * `InvalidRequest` when `target` is not a member this leader replicates to.
   */
  allowNextRevert(target: NodeId, allow: boolean): Promise<void>;
}

/** Runtime switches (tests, operators). */
export interface RuntimeToggles {
  /** Enable/disable the internal tick (elections and heartbeats stop when disabled). */
  tick(enabled: boolean): void;
  /** Enable/disable leader heartbeats. */
  heartbeat(enabled: boolean): void;
  /** Enable/disable elections on timeout. */
  elect(enabled: boolean): void;
}

/** The public API of a Raft node (DESIGN §5). It is also the `RaftRpcHandler` transports call. */
export interface RaftApi<D, R> extends RaftRpcHandler {
  /** This node's id. */
  readonly id: NodeId;
  /** Initializes a new cluster with these voters (this node must be one). Once per cluster. */
  initialize(nodes: Record<NodeId, Node>): Promise<void>;
  /** Whether this node has a log or a vote already (`initialize` would refuse it). */
  isInitialized(): boolean;
  /** Whether this node leads now. */
  isLeader(): boolean;
  /** The leader this node knows of (itself when leading), or `null`. */
  currentLeader(): NodeId | null;
  /** The voters of the effective membership, in id order. */
  voterIds(): NodeId[];
  /** The learners of the effective membership. */
  learnerIds(): NodeId[];
  /** The state machine's current snapshot, or `null`. */
  getSnapshot(): Promise<Snapshot | null>;
  /** The validated configuration in force. */
  readonly config: Readonly<RaftConfig>;
  /** Proposes `data`; resolves once committed, with its log id (`resolveAt: 'commit'`). */
  clientWrite(data: D, opts: CommitWriteOptions): Promise<ClientWriteCommitted>;
  /** Proposes `data`; resolves once applied, with its log id and the state machine's response. */
  clientWrite(data: D, opts?: ApplyWriteOptions): Promise<ClientWriteResponse<R>>;
  /** Proposes `data` with a resolve stage known at run time: resolves as one of the two forms above. */
  clientWrite(data: D, opts?: WriteOptions): Promise<ClientWriteResponse<R> | ClientWriteCommitted>;
  /** Proposes `data`; resolves once the leader appended it, with its log id (openraft's `client_write_ff`). */
  clientWriteFf(data: D, opts?: WriteFfOptions<R>): Promise<LogId>;
  /** Proposes several writes in one batch; each resolves once committed (`resolveAt: 'commit'`). */
  clientWriteMany(
    data: readonly D[],
    opts: WriteManyOptions & { resolveAt: 'commit' },
  ): Promise<ClientWriteCommitted[]>;
  /** Proposes several writes in one batch; each resolves as `clientWrite` would. */
  clientWriteMany(
    data: readonly D[],
    opts?: WriteManyOptions & { resolveAt?: 'apply' },
  ): Promise<ClientWriteResponse<R>[]>;
  /** Runs `fn` on the state machine between applies; resolves with its result (openraft's `with_state_machine`). */
  withStateMachine<T>(fn: (sm: RaftStateMachine<D, R>) => T | PromiseLike<T>): Promise<T>;
  /** Runs `fn` synchronously in the core loop with a frozen copy of the Raft state (openraft's `with_raft_state`). */
  withRaftState<T>(fn: (state: RaftStateView) => T): Promise<T>;
  /** Queues `fn` to run in the core loop with a frozen copy of the Raft state; fire-and-forget (openraft's `external_request`). */
  externalRequest(fn: (state: RaftStateView) => void): void;
  /** Confirms this node is the leader and waits until the read point is applied; returns the read point. */
  ensureLinearizable(opts?: { policy?: ReadPolicy }): Promise<LogId | null>;
  /** Leader only: the read point of a linearizable read, for a follower to wait for (see `ReadLinearizer`). */
  getReadLinearizer(opts?: { policy?: ReadPolicy }): Promise<ReadLinearizer>;
  /**
   * Adds a learner; `blocking` (default true) waits until it lags at most
   * `config.replicationLagThreshold` entries behind the leader's last log index.
   */
  addLearner(
    id: NodeId,
    node: Node,
    opts?: { blocking?: boolean; timeoutMs?: number },
  ): Promise<AddLearnerResponse<R>>;
  /**
   * Changes the membership: a voter set (joint, then uniform) or a `ChangeMembers` (openraft's); a
   * change of nodes only is one entry. Resolves once the final config is applied. `retain` keeps
   * removed voters as learners.
   */
  changeMembership(
    changes: Iterable<NodeId> | ChangeMembers,
    opts?: { retain?: boolean },
  ): Promise<ClientWriteResponse<R>>;
  /**
   * `changeMembership`, refused (`ChangeMembershipError` 'MembershipChanged') when the effective
   * membership's log id is not `expectedMembershipLogId` (openraft's `change_membership_if`).
   */
  changeMembershipIf(
    expectedMembershipLogId: LogId | null,
    changes: Iterable<NodeId> | ChangeMembers,
    opts?: { retain?: boolean },
  ): Promise<ClientWriteResponse<R>>;
  /** Current metrics, a subscription to every change, and per-kind subscriptions. */
  readonly metrics: RaftMetricsApi;
  /** Waits for metrics predicates. */
  wait(opts?: { timeoutMs?: number }): Wait;
  /** Manual triggers. */
  readonly trigger: Trigger;
  /** Runtime toggles. */
  readonly runtimeConfig: RuntimeToggles;
  /** Stops the node: pending calls fail with a clear error; later calls fail with `StoppedError`. */
  shutdown(): Promise<void>;
}
