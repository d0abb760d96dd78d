import {
  type Command,
  type Condition,
  Engine,
  type EngineConfig,
  type EngineResponse,
  type EngineStartup,
  type ReplicationResult,
} from '@flotilla/engine';
import {
  type IoId,
  type ReplicationEvent,
  ReplicationStreams,
  serveStreamAppend,
  Watch,
} from '@flotilla/replication';
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  type ClientSession,
  type Clock,
  type Codec,
  compareLogId,
  type EntryPayload,
  EntryTooLargeError,
  ForwardToLeaderError,
  getNode,
  hasErrorCode,
  InvalidRequestError,
  isFatalError,
  type Logger,
  type LogId,
  logIdEquals,
  type Membership,
  NetworkError,
  type Node,
  type NodeId,
  NotLeaderError,
  OutcomeUnknownError,
  OverloadedError,
  PanickedError,
  type RaftLogStorage,
  type RaftMetrics,
  type RaftNetwork,
  type RaftNetworkFactory,
  type RaftStateMachine,
  type SnapshotData,
  type SnapshotMeta,
  type SnapshotResponse,
  type SnapshotSink,
  StoppedError,
  StorageError,
  type StoredMembership,
  type StreamAppendResult,
  silentLogger,
  sleep,
  systemClock,
  TimeoutError,
  type TimerHandle,
  type TransferLeaderRequest,
  uniformMembership,
  type Vote,
  type VoteRequest,
  type VoteResponse,
  validateAppendEntriesRequest,
  validateOptionalLogId,
  validateSnapshotMeta,
  validateTransferLeaderRequest,
  validateVote,
  validateVoteRequest,
} from '@flotilla/types';
import type {
  ClientWriteResponse,
  RaftApi,
  RaftOptions,
  RaftPlantedBug,
  ReadLinearizer,
  ReadPolicy,
  RuntimeToggles,
  Trigger,
  WriteOptions,
} from './api.ts';
import { msgpackCodec } from './codec.ts';
import { createConfig, type RaftConfig } from './config.ts';
import { MetricsHub, Wait } from './metrics.ts';
import { type AppliedEntry, StateMachineWorker } from './sm-worker.ts';
import { loadStartup } from './startup.ts';

/** A write waiting for its entry to be applied. */
interface PendingWrite<R> {
  logId: LogId | null;
  resolve(r: ClientWriteResponse<R>): void;
  reject(e: Error): void;
}

/** A proposal queued for the next loop turn (writes are batched into one `append` per turn). */
interface Proposal<R> {
  payload: EntryPayload;
  write: PendingWrite<R>;
}

type Reply = (response: EngineResponse) => void;

interface Postponed {
  when: Condition;
  reply: Reply;
  response: EngineResponse;
}

/** Default RPC timeouts relative to the config. */
const VOTE_TIMEOUT_FACTOR = 1;
/** How many recent heartbeats per target are remembered to place a refused one. */
const HEARTBEATS_REMEMBERED = 8;

/**
 * A Raft node: the core loop executing engine commands against storage, network and state machine,
 * the public API, and the RPC handler its transport calls. Create one with `Raft.create`.
 *
 * Everything flows through one queue: API calls, RPCs, storage completions, replication events and
 * ticks are queued and handed to the engine one at a time; after each, the engine's commands run in
 * order, `respond`s whose condition is not met yet wait. Client writes queued in one loop turn become
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
  readonly #config: RaftConfig;
  readonly #engine: Engine;
  readonly #store: RaftLogStorage;
  readonly #sm: RaftStateMachine<D, R>;
  readonly #network: RaftNetworkFactory;
  readonly #codec: Codec<D>;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** TEST-ONLY planted bugs (see `RaftOptions.plantedBugs`). */
  readonly #plantedBugs: ReadonlySet<RaftPlantedBug> | undefined;
  readonly #worker: StateMachineWorker<D, R>;
  readonly #hub: MetricsHub;

  readonly #ioAccepted: Watch<IoId>;
  readonly #ioSubmitted: Watch<IoId>;
  readonly #committed: Watch<LogId | null>;
  #streams: ReplicationStreams | null = null;
  #streamsVote: Vote | null = null;
  readonly #voteClients = new Map<NodeId, RaftNetwork>();
  /** The effective membership's log id when `#voteClients` was last pruned. */
  #voteClientsCheckedAt: LogId | null = null;

  readonly #queue: (() => void)[] = [];
  /** Rejecters of calls and RPCs still in the queue: a stop settles them instead of leaving them hanging. */
  readonly #queuedCalls = new Set<(err: Error) => void>();
  /** Rejecters of RPCs not answered yet. */
  readonly #rpcWaiters = new Set<(err: Error) => void>();
  #draining = false;
  #proposals: Proposal<R>[] = [];
  readonly #pending = new Map<number, PendingWrite<R>>();
  #postponed: Postponed[] = [];
  #ioChain: Promise<void> = Promise.resolve();
  #flushedIo = 0;
  /** The install reading each received snapshot's data, settled when it ended. */
  readonly #installOf = new WeakMap<SnapshotData, Promise<void>>();
  /** Snapshot transfers being received, settled once their sink is discarded. */
  readonly #transfers = new Set<Promise<void>>();
  /** Received snapshots handed to the engine, by id: their data, read back from the spool. */
  readonly #receivedSnapshots = new Map<string, SnapshotData>();
  /** `replicate` commands whose range is not readable yet, newest per target. */
  readonly #heldReplicates = new Map<NodeId, Extract<Command, { type: 'replicate' }>>();
  /** The latest heartbeats queued per target (when, and their prevLogId), to place a refused one. */
  readonly #heartbeatsQueued = new Map<NodeId, { at: number; matching: LogId | null }[]>();
  /** The `seq` of the last log reversion reported through the logger. */
  #reversionsReported = 0;
  /** `trigger.snapshot` calls: each waits for a snapshot covering what was applied when it asked. */
  #snapshotWaiters: { atLeast: LogId | null; resolve(l: LogId | null): void; reject(e: Error): void }[] = [];
  /** Settles when the latest snapshot install handed to the worker finished (`null`: none running). */
  #installing: Promise<void> | null = null;
  readonly #startedInstalls = new WeakSet<Command>();

  #stopped: Error | null = null;
  /** What calls made after the stop fail with: a `StoppedError` (whose cause is a fatal error). */
  #stoppedAs: StoppedError | null = null;
  #tickTimer: TimerHandle | null = null;
  #tickEnabled = true;
  #heartbeatEnabled = true;
  #electEnabled = true;
  #wasLeader = false;
  /**
   * The leadership transfer this node started as leader of `term` (thesis §3.10). Until that term
   * ends, the node takes no new writes or membership changes and confirms no reads: it stays silent,
   * so the term ends within about an election timeout even if the target never takes over (the engine
   * has no way to call a transfer off; check-quorum or a higher term deposes this leader).
   */
  #transfer: { term: number; to: NodeId } | null = null;

  private constructor(
    opts: RaftOptions<D, R>,
    config: RaftConfig,
    engine: Engine,
    applied: LogId | null,
    initialMetrics: RaftMetrics,
  ) {
    this.id = opts.id;
    this.#config = config;
    this.#engine = engine;
    this.#store = opts.logStore;
    this.#sm = opts.stateMachine;
    this.#network = opts.network;
    this.#codec = opts.codec ?? msgpackCodec<D>();
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.logger ?? silentLogger;
    this.#plantedBugs = opts.plantedBugs;
    this.#hub = new MetricsHub(initialMetrics, (err) =>
      this.#log.warn('a metrics subscriber threw', { err: String(err) }),
    );
    const io: IoId = { vote: engine.vote(), logId: engine.lastLogId() };
    this.#ioAccepted = new Watch<IoId>(io);
    this.#ioSubmitted = new Watch<IoId>(io);
    this.#committed = new Watch<LogId | null>(engine.committed());
    this.#worker = new StateMachineWorker<D, R>({
      stateMachine: this.#sm,
      reader: this.#store.reader(),
      codec: this.#codec,
      lastApplied: applied,
      events: {
        applied: (last, entries) => this.#enqueue(() => this.#onApplied(last, entries)),
        snapshotBuilt: (meta, err) => this.#enqueue(() => this.#onSnapshotBuilt(meta, err)),
        snapshotInstalled: () => this.#enqueue(() => {}),
        fatal: (err) => this.#enqueue(() => this.#fail(err)),
      },
    });
  }

  /**
   * Creates and starts a node: reads the vote, log state, committed id, state-machine state and
   * snapshot, hands them to the engine, and starts the timers. A node whose storage is empty waits for
   * `initialize` (or for a leader to contact it).
   */
  static async create<D, R>(opts: RaftOptions<D, R>): Promise<Raft<D, R>> {
    const config = createConfig(opts.config);
    const clock = opts.clock ?? systemClock;
    const engine = new Engine({
      id: opts.id,
      config: engineConfig(config),
      random: opts.random ?? Math.random,
    });
    const startup: EngineStartup = await loadStartup(opts.logStore, opts.stateMachine);
    engine.startup(startup, clock.now());
    const raft = new Raft<D, R>(
      opts,
      config,
      engine,
      startup.applied,
      initialMetrics(opts.id, engine, config),
    );
    raft.#enqueue(() => {});
    raft.#scheduleTick();
    return raft;
  }

  // ================================================================== public API

  /** Current metrics and a subscription. */
  get metrics(): { readonly current: RaftMetrics; subscribe(l: (m: RaftMetrics) => void): () => void } {
    const hub = this.#hub;
    return {
      get current() {
        return hub.current;
      },
      subscribe: (l) => hub.subscribe(l),
    };
  }

  /** The validated configuration in force. */
  get config(): Readonly<RaftConfig> {
    return this.#config;
  }

  /** Waits for metrics predicates (default timeout: 10 election timeouts). */
  wait(opts: { timeoutMs?: number } = {}): Wait {
    return new Wait(this.#hub, this.#clock, opts.timeoutMs ?? this.#config.electionTimeoutMaxMs * 10);
  }

  /** Initializes a new cluster whose voters are the keys of `nodes`. */
  async initialize(nodes: Record<NodeId, Node>): Promise<void> {
    this.#ensureRunning();
    const membership: Membership = uniformMembership(nodes);
    await this.#call(() => {
      this.#engine.initialize(membership, this.#clock.now());
    });
  }

  /** Proposes `data`; resolves once applied. */
  clientWrite(data: D, opts: WriteOptions = {}): Promise<ClientWriteResponse<R>> {
    let payload: EntryPayload;
    try {
      payload = this.#encode(data, sessionOf(opts));
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#propose([payload])[0] as Promise<ClientWriteResponse<R>>;
  }

  /** Proposes several writes in one batch. */
  clientWriteMany(data: readonly D[]): Promise<ClientWriteResponse<R>[]> {
    let payloads: EntryPayload[];
    try {
      payloads = data.map((d) => this.#encode(d));
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.all(this.#propose(payloads));
  }

  /** Confirms leadership and waits until the read point is applied. Returns the read point. */
  async ensureLinearizable(opts: { policy?: ReadPolicy } = {}): Promise<LogId | null> {
    const readLogId = await this.#readPoint(opts.policy ?? 'readIndex');
    if (readLogId !== null) await this.wait().appliedIndex(readLogId.index, 'the read point to be applied');
    return readLogId;
  }

  /** The leader's read point for a follower read (see `ReadLinearizer`). */
  async getReadLinearizer(opts: { policy?: ReadPolicy } = {}): Promise<ReadLinearizer> {
    const readLogId = await this.#readPoint(opts.policy ?? 'readIndex');
    return {
      readLogId,
      awaitApplied: async (o = {}) => {
        if (readLogId === null) return;
        await this.wait(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }).appliedIndex(
          readLogId.index,
        );
      },
    };
  }

  /** Adds a learner; with `blocking` (default) waits until it has caught up. */
  async addLearner(
    id: NodeId,
    node: Node,
    opts: { blocking?: boolean; timeoutMs?: number } = {},
  ): Promise<ClientWriteResponse<R>> {
    this.#ensureRunning();
    const logId = await this.#call(() =>
      this.#requireLeader((now) => this.#engine.addLearner(id, node, now), { writes: true }),
    );
    const res = await this.#awaitApplied(logId);
    if (opts.blocking ?? true) {
      const timeoutMs = opts.timeoutMs ?? this.#config.electionTimeoutMaxMs * 20;
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
    this.#ensureRunning();
    const want = [...new Set(voters)].sort();
    const first = await this.#call(() =>
      this.#requireLeader(
        (now) =>
          this.#engine.changeMembership(want, opts.retain === undefined ? {} : { retain: opts.retain }, now),
        { writes: true },
      ),
    );
    let res = await this.#awaitApplied(first);
    // The engine proposes the uniform config once the joint one commits; wait for it to be applied.
    const done = (m: StoredMembership) =>
      m.membership.configs.length === 1 && sameIds(m.membership.configs[0] ?? [], want);
    const timeoutMs = this.#config.electionTimeoutMaxMs * 20;
    const metrics = await this.wait({ timeoutMs }).until(
      (m) => {
        if (m.error !== null) throw this.#stoppedAs ?? new StoppedError();
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
    return {
      elect: () =>
        this.#call(() => {
          this.#engine.elect(this.#clock.now());
        }),
      heartbeat: () =>
        this.#call(() => {
          if (this.#engine.serverState() === 'Leader') this.#engine.heartbeat(this.#clock.now());
        }),
      snapshot: () => this.#triggerSnapshot(),
      purgeLog: (upto: number) => this.#purgeLog(upto),
      transferLeader: (to: NodeId) =>
        this.#call(() =>
          this.#requireLeader((now) => {
            this.#engine.transferLeader(to, now);
            if (to !== this.id) this.#transfer = { term: this.#engine.vote().term, to };
          }),
        ),
    };
  }

  /** Runtime switches. */
  get runtimeConfig(): RuntimeToggles {
    return {
      tick: (enabled) => {
        this.#tickEnabled = enabled;
      },
      heartbeat: (enabled) => {
        this.#heartbeatEnabled = enabled;
      },
      elect: (enabled) => {
        this.#electEnabled = enabled;
      },
    };
  }

  /** Stops the node. Pending writes fail with `OutcomeUnknown`; later calls with `Stopped`. */
  async shutdown(): Promise<void> {
    if (!this.#stopped) this.#stop(new StoppedError('the node was shut down'));
    // Also after a fatal error: resolve only once no storage or state-machine call is running, so
    // the caller may close its stores.
    await this.#worker.stop();
    await this.#ioChain.catch(() => {});
    // Snapshot transfers end at the stop; their sinks are discarded before this resolves.
    await Promise.all([...this.#transfers]);
  }

  // ================================================================== RPC handler

  /** Handles an AppendEntries from the leader. */
  appendEntries(req: AppendEntriesRequest): Promise<AppendEntriesResponse> {
    return this.#rpc(
      () => validateAppendEntriesRequest(req),
      (r, reply, now) => {
        this.#engine.handleAppendEntries(r, reply, now);
      },
    ).then((res) => expect(res, 'appendEntries'));
  }

  /** Handles a vote or pre-vote request. */
  vote(req: VoteRequest): Promise<VoteResponse> {
    return this.#rpc(
      () => validateVoteRequest(req),
      (r, reply, now) => {
        this.#engine.handleVoteRequest(r, reply, now);
      },
    ).then((res) => expect(res, 'vote'));
  }

  /** Serves a pipelined AppendEntries stream: replies are cumulative watermarks, each after a flush. */
  streamAppend(
    input: AsyncIterable<AppendEntriesRequest>,
    opts: { signal?: AbortSignal } = {},
  ): AsyncIterable<StreamAppendResult> {
    const serveOpts = opts.signal === undefined ? { window: 64 } : { window: 64, signal: opts.signal };
    return serveStreamAppend(input, (req) => this.appendEntries(req), serveOpts);
  }

  /**
   * Receives a whole snapshot from the leader and installs it. The chunks are spooled as they arrive
   * into the state machine's `beginReceivingSnapshot` sink (or held in memory without one). A stop
   * interrupts the transfer; `shutdown()` resolves only once its sink is discarded, and a sink is
   * discarded only once the install reading from it has ended.
   */
  installFullSnapshot(vote: Vote, meta: SnapshotMeta, data: SnapshotData): Promise<SnapshotResponse> {
    const transfer = this.#receiveSnapshot(vote, meta, data);
    const done = transfer.then(
      () => {},
      () => {},
    );
    this.#transfers.add(done);
    void done.then(() => this.#transfers.delete(done));
    return transfer;
  }

  async #receiveSnapshot(vote: Vote, meta: SnapshotMeta, data: SnapshotData): Promise<SnapshotResponse> {
    this.#ensureRunning();
    validateVote(vote, 'vote');
    if (!vote.committed)
      throw new InvalidRequestError('vote', 'a snapshot must carry a committed leader vote');
    validateSnapshotMeta(meta, 'meta');
    const sink = await this.#snapshotSink(meta);
    let received: SnapshotData | null = null;
    try {
      const it = data[Symbol.asyncIterator]();
      try {
        for (let n = 0; ; n++) {
          const next = await this.#untilStopped(it.next());
          if (next.done === true) break;
          const chunk: unknown = next.value;
          // Checked here: a bad chunk reaching the state machine would fail the install, a fatal error.
          if (!(chunk instanceof Uint8Array)) {
            throw new InvalidRequestError(`data[${n}]`, 'expected a Uint8Array chunk');
          }
          await spool(() => sink.write(chunk), meta);
          this.#ensureRunning();
        }
      } finally {
        void Promise.resolve(it.return?.()).catch(() => {});
      }
      const spooled = await spool(() => sink.finish(), meta);
      received = spooled;
      this.#ensureRunning();
      let res: EngineResponse;
      try {
        res = await this.#rpc(
          () => ({ vote, meta }),
          (r, reply, now) => {
            this.#receivedSnapshots.set(meta.snapshotId, spooled);
            this.#engine.handleInstallSnapshot(r, reply, now);
          },
        );
      } finally {
        this.#receivedSnapshots.delete(meta.snapshotId);
      }
      // Answer only once the state machine holds the snapshot (the engine answers on log durability).
      const current = this.#installing;
      if (current !== null) await current;
      this.#ensureRunning();
      return expect(res, 'installSnapshot');
    } finally {
      // Also on a stop or an error: never pull the data from under an install still reading it.
      const install = received === null ? undefined : this.#installOf.get(received);
      if (install !== undefined) await install.catch(() => {});
      await sink.discard().catch((err: unknown) =>
        this.#log.warn('discarding a received snapshot failed', {
          snapshotId: meta.snapshotId,
          err: String(err),
        }),
      );
    }
  }

  /** `p`, or a `Stopped` rejection as soon as the node stops. */
  #untilStopped<T>(p: Promise<T>): Promise<T> {
    if (this.#stoppedAs) return Promise.reject(this.#stoppedAs);
    return new Promise<T>((resolve, reject) => {
      const onStop = (err: Error) => reject(err);
      this.#rpcWaiters.add(onStop);
      p.then(
        (v) => {
          this.#rpcWaiters.delete(onStop);
          resolve(v);
        },
        (err: unknown) => {
          this.#rpcWaiters.delete(onStop);
          reject(err);
        },
      );
    });
  }

  /** The state machine's sink for a received snapshot, or one in memory. */
  async #snapshotSink(meta: SnapshotMeta): Promise<SnapshotSink> {
    const begin = this.#sm.beginReceivingSnapshot;
    if (begin === undefined) return memorySnapshotSink();
    return spool(() => begin.call(this.#sm, meta), meta);
  }

  /** Handles the leader's request to take over leadership. */
  async transferLeader(req: TransferLeaderRequest): Promise<void> {
    this.#ensureRunning();
    const r = validateTransferLeaderRequest(req);
    await this.#call(() => this.#engine.handleTransferLeader(r, this.#clock.now()));
  }

  // ================================================================== the core loop

  #enqueue(fn: () => void): void {
    if (this.#stopped) return;
    this.#queue.push(fn);
    if (!this.#draining) {
      this.#draining = true;
      queueMicrotask(() => this.#drain());
    }
  }

  /** Runs `fn` inside the loop and resolves with its result (or rejects with what it threw). */
  #call<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#stoppedAs) {
        reject(this.#stoppedAs);
        return;
      }
      const abort = (err: Error) => reject(err);
      this.#queuedCalls.add(abort);
      this.#queue.push(() => {
        this.#queuedCalls.delete(abort);
        try {
          resolve(fn());
        } catch (err) {
          if (err instanceof PanickedError) {
            reject(err);
            throw err;
          }
          reject(err);
        }
      });
      if (!this.#draining) {
        this.#draining = true;
        queueMicrotask(() => this.#drain());
      }
    });
  }

  #drain(): void {
    try {
      while (!this.#stopped) {
        const fn = this.#queue.shift();
        if (fn === undefined) {
          if (this.#proposals.length === 0) break;
          this.#flushProposals();
        } else {
          fn();
        }
        this.#runCommands();
      }
      if (!this.#stopped) this.#afterTurn();
    } catch (err) {
      this.#fail(err instanceof Error ? err : new PanickedError(String(err)));
    } finally {
      this.#draining = false;
    }
  }

  /** Hands every queued proposal to the engine as one batch (one `append`). */
  #flushProposals(): void {
    const batch = this.#proposals;
    this.#proposals = [];
    if (batch.length === 0) return;
    if (this.#engine.serverState() !== 'Leader' || this.#transferring() !== null) {
      const err = this.#forwardError();
      for (const p of batch) p.write.reject(err);
      return;
    }
    let ids: LogId[];
    try {
      ids = this.#engine.leaderAppend(
        batch.map((p) => p.payload),
        this.#clock.now(),
      );
    } catch (err) {
      // A refused batch fails its writes (nothing was appended); only an engine panic stops the node.
      if (err instanceof PanickedError || !(err instanceof Error)) throw err;
      for (const p of batch) p.write.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const logId = ids[i] as LogId;
      p.write.logId = logId;
      this.#pending.set(logId.index, p.write);
    });
  }

  #runCommands(): void {
    for (;;) {
      const cmds = this.#engine.takeCommands();
      if (cmds.length === 0) return;
      // Snapshot installs start before the batch's purge runs, so the purge can wait for them.
      for (const cmd of cmds) {
        if (cmd.type === 'stateMachine' && cmd.command.type === 'installSnapshot') this.#startInstall(cmd);
      }
      for (const cmd of cmds) this.#run(cmd);
    }
  }

  /** Hands a received snapshot to the worker; `#installing` settles when the state machine holds it. */
  #startInstall(cmd: Extract<Command, { type: 'stateMachine' }>): void {
    const job = cmd.command;
    if (job.type !== 'installSnapshot') return;
    this.#startedInstalls.add(cmd);
    const data = this.#receivedSnapshots.get(job.meta.snapshotId) ?? iterate([]);
    this.#receivedSnapshots.delete(job.meta.snapshotId);
    const done = this.#worker.installSnapshot(job.meta, data);
    this.#installOf.set(
      data,
      done.then(
        () => {},
        () => {},
      ),
    );
    const gate = done.then(
      () => {
        if (this.#installing === gate) this.#installing = null;
      },
      (err: unknown) => {
        if (this.#installing === gate) this.#installing = null;
        throw err;
      },
    );
    // Failures are reported (fatally) by the worker; the gate only orders the purge after the install.
    gate.catch(() => {});
    this.#installing = gate;
  }

  #run(cmd: Command): void {
    switch (cmd.type) {
      case 'saveVote': {
        this.#ioAccepted.set({ vote: cmd.vote, logId: this.#ioAccepted.get().logId });
        const { ioId, vote } = cmd;
        this.#io('vote', async () => {
          await this.#store.saveVote(vote);
          this.#enqueue(() => this.#localIo(ioId, true));
        });
        return;
      }
      case 'appendEntries': {
        const last = cmd.entries[cmd.entries.length - 1]?.logId ?? this.#ioAccepted.get().logId;
        const io: IoId = { vote: cmd.vote, logId: last };
        this.#ioAccepted.set(io);
        const { ioId, entries } = cmd;
        this.#io('write', async () => {
          const early = this.#plantedBugs?.has('appendDurableOnSubmit') === true;
          await this.#store.append(entries, (err) => {
            if (err) this.#fail(new StorageError('flush', err.message, { cause: err }));
            else if (!early) this.#enqueue(() => this.#localIo(ioId, true));
          });
          // TEST-ONLY planted bug: durable as soon as the store accepted the entries.
          if (early) this.#enqueue(() => this.#localIo(ioId, true));
          this.#ioSubmitted.set(io);
          this.#enqueue(() => this.#localIo(ioId, false));
        });
        return;
      }
      case 'truncateLog': {
        const { ioId, since } = cmd;
        const prev = since.index === 0 ? null : this.#engine.logIdAt(since.index - 1);
        this.#ioAccepted.set({ vote: this.#ioAccepted.get().vote, logId: prev });
        this.#io('truncate', async () => {
          await this.#store.truncate(since);
          this.#ioSubmitted.set({ vote: this.#ioAccepted.get().vote, logId: prev });
          this.#enqueue(() => this.#localIo(ioId, true));
        });
        return;
      }
      case 'purgeLog': {
        const { ioId, upto } = cmd;
        // A purge issued with a snapshot install removes entries only the snapshot holds: it must not
        // become durable before the state machine installed it (a crash in between loses those entries).
        const install = this.#installing;
        this.#io('purge', async () => {
          if (install !== null) await install;
          await this.#store.purge(upto);
          this.#enqueue(() => this.#localIo(ioId, true));
        });
        return;
      }
      case 'saveCommittedAndApply': {
        this.#committed.set(cmd.committed);
        // The entries may come from an append issued in the same batch and still on the I/O chain:
        // hand the range to the worker once every earlier write resolved (the engine's contract),
        // without waiting for the commit index save queued below (it is advisory, and with a store
        // that saves it durably it would put an fsync in front of every apply).
        const { prevCommitted, committed } = cmd;
        const readable = this.#ioChain;
        if (this.#config.saveCommitted && this.#store.saveCommitted) {
          const save = this.#store.saveCommitted.bind(this.#store);
          this.#io('write', () => save(committed));
        }
        void readable.then(() => {
          if (!this.#stopped) this.#worker.apply(prevCommitted, committed);
        });
        return;
      }
      case 'replicate': {
        // A fixed range is read at once: hold it until its entries are readable (appends are async).
        const last = cmd.payload.type === 'logs' ? cmd.payload.last : null;
        if (last !== null && compareLogId(this.#ioSubmitted.get().logId, last) < 0) {
          this.#heldReplicates.set(cmd.target, cmd);
          return;
        }
        this.#heldReplicates.delete(cmd.target);
        this.#streams?.replicate(cmd.target, { inflightId: cmd.inflightId, payload: cmd.payload });
        return;
      }
      case 'replicateSnapshot':
        this.#streams?.replicate(cmd.target, { inflightId: cmd.inflightId, payload: { type: 'snapshot' } });
        return;
      case 'replicateCommitted':
        this.#committed.set(cmd.committed);
        return;
      case 'rebuildReplicationStreams':
        this.#rebuildStreams(cmd.vote, cmd.targets, cmd.closeOldStreams);
        return;
      case 'sendVote':
        this.#sendVote(cmd.target, cmd.request);
        return;
      case 'broadcastHeartbeat':
        for (const t of cmd.targets) {
          const queued = this.#heartbeatsQueued.get(t.id) ?? [];
          queued.push({ at: cmd.sentAt, matching: t.matching });
          if (queued.length > HEARTBEATS_REMEMBERED) queued.shift();
          this.#heartbeatsQueued.set(t.id, queued);
          this.#streams?.heartbeat(t.id, { matching: t.matching, committed: cmd.committed });
        }
        return;
      case 'sendTransferLeader': {
        const node = getNode(this.#engine.membership().effective.membership, cmd.target);
        if (node === undefined) return;
        const client = this.#voteClient(cmd.target, node);
        if (client === null) return;
        if (client.transferLeader === undefined) {
          this.#log.warn('the network has no transferLeader: the transfer request is not sent', {
            target: cmd.target,
          });
          return;
        }
        const send = client.transferLeader.bind(client);
        settle(() => send(cmd.request, { timeoutMs: this.#config.electionTimeoutMaxMs })).catch(
          (err: unknown) => this.#log.warn('transferLeader failed', { target: cmd.target, err: String(err) }),
        );
        return;
      }
      case 'respond':
        if (cmd.when === null || this.#conditionMet(cmd.when)) (cmd.reply as Reply)(cmd.response);
        else this.#postponed.push({ when: cmd.when, reply: cmd.reply as Reply, response: cmd.response });
        return;
      case 'stateMachine': {
        const job = cmd.command;
        if (job.type === 'buildSnapshot') this.#worker.buildSnapshot();
        else if (!this.#startedInstalls.has(cmd)) this.#startInstall(cmd);
        return;
      }
      default:
        throw new PanickedError(`unknown command ${JSON.stringify(assertNever(cmd))}`);
    }
  }

  /** Serializes storage writes: each is issued after the previous one resolved. */
  #io(op: 'vote' | 'write' | 'truncate' | 'purge', fn: () => Promise<void>): void {
    this.#ioChain = this.#ioChain.then(async () => {
      if (this.#stopped) return;
      try {
        await fn();
      } catch (err) {
        // Stop at once: no later write in the chain may run after a failed one.
        this.#fail(isFatalError(err) ? (err as Error) : new StorageError(op, String(err), { cause: err }));
      }
    });
  }

  #localIo(ioId: number, flushed: boolean): void {
    const now = this.#clock.now();
    if (flushed) {
      this.#engine.onLocalIo({ type: 'submitted', ioId }, now);
      this.#engine.onLocalIo({ type: 'flushed', ioId }, now);
      this.#flushedIo = Math.max(this.#flushedIo, ioId);
    } else {
      this.#engine.onLocalIo({ type: 'submitted', ioId }, now);
    }
    for (const cmd of [...this.#heldReplicates.values()]) this.#run(cmd);
    this.#releasePostponed();
  }

  #conditionMet(c: Condition): boolean {
    switch (c.type) {
      case 'ioFlushed':
        return this.#engine.ioProgress().flushed.ioId >= c.ioId;
      case 'applied':
        return compareLogId(this.#engine.applied(), c.logId) >= 0;
      case 'snapshot':
        return compareLogId(this.#engine.snapshot()?.lastLogId ?? null, c.logId) >= 0;
    }
  }

  #releasePostponed(): void {
    if (this.#postponed.length === 0) return;
    const still: Postponed[] = [];
    for (const p of this.#postponed) {
      if (this.#conditionMet(p.when)) p.reply(p.response);
      else still.push(p);
    }
    this.#postponed = still;
  }

  #onApplied(last: LogId, entries: AppliedEntry<R>[]): void {
    for (const e of entries) {
      const w = this.#pending.get(e.logId.index);
      if (w === undefined) continue;
      this.#pending.delete(e.logId.index);
      if (w.logId !== null && logIdEquals(w.logId, e.logId))
        w.resolve({ logId: e.logId, response: e.response as R });
      else w.reject(new ForwardToLeaderError(this.#engine.currentLeader(), this.#leaderNode()));
    }
    this.#engine.onApplied(last);
    this.#releasePostponed();
  }

  #onSnapshotBuilt(meta: SnapshotMeta | null, err?: Error): void {
    if (meta === null) {
      const waiters = this.#snapshotWaiters.splice(0);
      this.#log.warn('snapshot build failed', { err: String(err) });
      for (const w of waiters) w.reject(err ?? new Error('snapshot build failed'));
      return;
    }
    this.#engine.onSnapshotBuilt(meta);
    // A build that started before a waiter asked may not cover it: that waiter waits for the next
    // build (the worker runs one after a build asked for while another ran).
    const covered = this.#snapshotWaiters.filter((w) => compareLogId(meta.lastLogId, w.atLeast) >= 0);
    this.#snapshotWaiters = this.#snapshotWaiters.filter((w) => !covered.includes(w));
    for (const w of covered) w.resolve(meta.lastLogId);
    this.#releasePostponed();
  }

  /**
   * Purges the log up to `upto` (inclusive), never past the snapshot or the applied index. Resolves
   * with the purge point once that much is purged.
   */
  async #purgeLog(upto: number): Promise<LogId | null> {
    this.#ensureRunning();
    if (!Number.isSafeInteger(upto) || upto < 0) {
      throw new InvalidRequestError('upto', 'expected a non-negative integer log index');
    }
    const target = await this.#call(() => {
      const snap = this.#engine.snapshot()?.lastLogId ?? null;
      if (snap === null || upto > snap.index) {
        throw new InvalidRequestError('upto', `index ${upto} is not covered by a snapshot (build one first)`);
      }
      return this.#engine.purgeUpTo(upto);
    });
    if (target !== null) {
      await this.wait().until(
        (m) => (m.purged?.index ?? -1) >= target.index,
        `the log purged up to ${target.index}`,
      );
    }
    return this.#hub.current.purged;
  }

  #triggerSnapshot(): Promise<LogId | null> {
    // Rejects, never throws: callers chain `.catch` on the promise.
    if (this.#stoppedAs) return Promise.reject(this.#stoppedAs);
    return new Promise((resolve, reject) => {
      // Registered at once, so a stop before the loop runs the build still settles it.
      this.#snapshotWaiters.push({ atLeast: this.#engine.applied(), resolve, reject });
      this.#enqueue(() => this.#worker.buildSnapshot());
    });
  }

  /** Bookkeeping after the queue ran dry: leadership changes, metrics. */
  #afterTurn(): void {
    const leader = this.#engine.serverState() === 'Leader';
    if (this.#wasLeader && !leader) this.#onStepDown();
    this.#wasLeader = leader;
    const membershipAt = this.#engine.membership().effective.logId;
    if (!logIdEquals(membershipAt, this.#voteClientsCheckedAt)) {
      this.#voteClientsCheckedAt = membershipAt;
      this.#closeVoteClientsOfRemovedNodes();
    }
    this.#publishMetrics();
  }

  /** Closes the vote clients of nodes no longer in the effective membership (no connection is leaked). */
  #closeVoteClientsOfRemovedNodes(): void {
    const m = this.#engine.membership().effective.membership;
    for (const [id, client] of this.#voteClients) {
      if (getNode(m, id) !== undefined) continue;
      this.#voteClients.delete(id);
      this.#closeClient(id, client);
    }
  }

  /** Writes proposed by this leader that are not committed have an unknown fate now. */
  #onStepDown(): void {
    const committed = this.#engine.committed();
    for (const [index, w] of this.#pending) {
      if (committed !== null && index <= committed.index) continue; // committed: will be applied
      this.#pending.delete(index);
      w.reject(new OutcomeUnknownError(w.logId, 'leadership was lost before the write was known committed'));
    }
  }

  #scheduleTick(): void {
    if (this.#stopped) return;
    const every = Math.max(1, Math.floor(this.#config.heartbeatIntervalMs / 2));
    this.#tickTimer = this.#clock.setTimeout(() => {
      this.#tickTimer = null;
      this.#enqueue(() => this.#tick());
      this.#scheduleTick();
    }, every);
  }

  #tick(): void {
    if (!this.#tickEnabled) return;
    const state = this.#engine.serverState();
    if (state === 'Leader' && !this.#heartbeatEnabled) return;
    if (state !== 'Leader' && !this.#electEnabled) return;
    this.#engine.tick(this.#clock.now());
  }

  // ================================================================== replication

  #rebuildStreams(vote: Vote | null, targets: { id: NodeId; node: Node }[], closeOld: boolean): void {
    const sameLeader = vote !== null && this.#streamsVote !== null && sameVote(vote, this.#streamsVote);
    if (closeOld || !sameLeader) {
      this.#heldReplicates.clear();
    } else {
      // A membership change keeps the surviving targets' in-flight state in the engine: their held
      // sends must survive too, or the engine waits forever for an outcome of a send never made.
      const kept = new Set(targets.map((t) => t.id));
      for (const id of this.#heldReplicates.keys()) if (!kept.has(id)) this.#heldReplicates.delete(id);
    }
    // TEST-ONLY planted bug: a leader that steps down leaves its streams running.
    if (vote === null && this.#plantedBugs?.has('keepStreamsOnStepDown') === true) return;
    if (this.#streams !== null && (closeOld || !sameLeader)) {
      this.#heartbeatsQueued.clear();
      this.#streams.closeAll();
      this.#streams = null;
      this.#streamsVote = null;
    }
    if (vote === null) return;
    if (this.#streams === null) {
      this.#streams = new ReplicationStreams({
        leaderVote: vote,
        newClient: (id, node) => this.#streamClient(id, node),
        newReader: () => this.#store.reader(),
        ioAccepted: this.#ioAccepted,
        ioSubmitted: this.#ioSubmitted,
        committed: this.#committed,
        core: { notify: (ev) => this.#enqueue(() => this.#onReplication(ev)) },
        config: {
          maxPayloadEntries: this.#config.maxPayloadEntries,
          maxInflightRequests: this.#config.maxInflightRequests,
          maxInflightBytes: this.#config.maxInflightBytes,
          heartbeatIntervalMs: this.#config.heartbeatIntervalMs,
          appendTimeoutMs: Math.max(this.#config.electionTimeoutMaxMs, this.#config.heartbeatIntervalMs * 4),
          installSnapshotTimeoutMs: Math.max(this.#config.installSnapshotTimeoutMs, 1000),
          snapshotChunkBytes: this.#config.snapshotChunkBytes,
        },
        snapshots: { getCurrentSnapshot: () => this.#sm.getCurrentSnapshot() },
        clock: this.#clock,
        logger: this.#log,
        ...(this.#plantedBugs?.has('sendStaleReads') === true
          ? { plantedBugs: new Set(['sendStaleReads'] as const) }
          : {}),
      });
      this.#streamsVote = vote;
    }
    this.#streams.rebuild(targets, { closeOldStreams: false });
    const kept = new Set(targets.map((t) => t.id));
    for (const id of this.#heartbeatsQueued.keys()) if (!kept.has(id)) this.#heartbeatsQueued.delete(id);
  }

  #onReplication(ev: ReplicationEvent): void {
    if (this.#streams === null || !this.#streams.isCurrent(ev)) return;
    const now = this.#clock.now();
    const report = (inflightId: number | null, result: ReplicationResult) =>
      this.#engine.onReplicationProgress(ev.target, { inflightId, result }, now);
    switch (ev.type) {
      case 'progress':
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
        this.#log.debug('replication transport error', { target: ev.target, err: String(ev.error) });
        report(ev.inflightId, { type: 'failed' });
        return;
      case 'fatal':
        this.#fail(ev.error);
        return;
      case 'heartbeatAck': {
        if (ev.matching !== undefined) {
          report(null, { type: 'matched', matching: ev.matching, sentAt: ev.sentAt });
          return;
        }
        // The target refused the heartbeat's prevLogId. The worker sends the newest heartbeat queued
        // by then, whose prevLogId (a matching: it only grows) bounds the refused one from above; by
        // Log Matching the target lacks that one too. The engine decides if it is a log reversion.
        const queued = this.#heartbeatsQueued.get(ev.target) ?? [];
        const sent = queued.filter((q) => q.at <= ev.sentAt).pop();
        if (sent !== undefined && sent.matching !== null) {
          report(null, { type: 'conflict', prevLogId: sent.matching, sentAt: ev.sentAt });
          this.#reportLogReversions();
        }
        return;
      }
      case 'snapshotDone':
        report(ev.inflightId, { type: 'snapshotInstalled', lastLogId: ev.meta.lastLogId, sentAt: ev.sentAt });
        return;
      case 'snapshotFailed':
        report(ev.inflightId, { type: 'failed' });
        return;
    }
  }

  /** Logs every log reversion the engine detected since the last call (once each). */
  #reportLogReversions(): void {
    for (const r of this.#engine.logReversions()) {
      if (r.seq <= this.#reversionsReported) continue;
      this.#reversionsReported = r.seq;
      const fields = {
        target: r.target,
        term: r.term,
        matching: r.matching,
        conflictIndex: r.conflictIndex,
      };
      if (r.repaired) {
        this.#log.warn('log reversion: the target lost acknowledged entries; repairing it', fields);
      } else {
        this.#log.warn(
          'log reversion refused: the target lost acknowledged entries; nothing more is replicated to it ' +
            'by this leader (set allowLogReversion to repair it)',
          fields,
        );
      }
    }
  }

  /** Closes a client without waiting; a failure (also a synchronous throw) is only logged. */
  #closeClient(id: NodeId, client: RaftNetwork): void {
    const close = client.close?.bind(client);
    if (close === undefined) return;
    settle(close).catch((err: unknown) =>
      this.#log.debug('closing a network client failed', { target: id, err: String(err) }),
    );
  }

  /**
   * A replication client for `id`. If the network cannot make one (e.g. an address it cannot parse),
   * the failure is logged and the stream gets a client whose calls fail with `NetworkError`: that
   * target is unreachable, the leader keeps running.
   */
  #streamClient(id: NodeId, node: Node): RaftNetwork {
    try {
      return this.#network.newClient(id, node);
    } catch (err) {
      this.#log.warn('cannot create a network client', { target: id, err: String(err) });
      const fail = () =>
        Promise.reject(new NetworkError(`no client to ${id}: ${String(err)}`, { cause: err }));
      return { appendEntries: fail, vote: fail, fullSnapshot: fail };
    }
  }

  /**
   * The cached client for votes and transfer requests to `id`; `null` (logged) if the network cannot
   * make one (e.g. an address it cannot parse): that peer is skipped, this node keeps running.
   */
  #voteClient(id: NodeId, node: Node): RaftNetwork | null {
    let c = this.#voteClients.get(id);
    if (c === undefined) {
      try {
        c = this.#network.newClient(id, node);
      } catch (err) {
        this.#log.warn('cannot create a network client', { target: id, err: String(err) });
        return null;
      }
      this.#voteClients.set(id, c);
    }
    return c;
  }

  #sendVote(target: NodeId, request: VoteRequest): void {
    const node = getNode(this.#engine.membership().effective.membership, target);
    if (node === undefined) return;
    const client = this.#voteClient(target, node);
    if (client === null) return;
    const timeoutMs = Math.max(this.#config.electionTimeoutMinMs * VOTE_TIMEOUT_FACTOR, 1);
    // A transport that throws synchronously fails this request only.
    settle(() => client.vote(request, { timeoutMs })).then(
      (resp) => {
        // A peer's answer is input like any request: a malformed one is dropped (the election times
        // out), never handed to the engine where it would stop this node.
        let valid: VoteResponse;
        try {
          valid = validateVoteResponse(resp);
        } catch (err) {
          this.#log.warn('malformed vote response dropped', { target, err: String(err) });
          return;
        }
        this.#enqueue(() => this.#engine.handleVoteResponse(target, valid, this.#clock.now()));
      },
      (err: unknown) => this.#log.debug('vote request failed', { target, err: String(err) }),
    );
  }

  // ================================================================== reads

  async #readPoint(policy: ReadPolicy): Promise<LogId | null> {
    this.#ensureRunning();
    const started = this.#clock.now();
    const state = await this.#call(() => {
      if (this.#engine.serverState() !== 'Leader' || this.#transferring() !== null)
        throw this.#forwardError();
      return { term: this.#engine.vote().term, lease: this.#engine.leaseValidUntil() ?? 0 };
    });
    // The leader must have committed an entry of its own term (its blank entry) to know the commit index.
    const committedInTerm = await this.wait().until((m) => {
      if (m.state !== 'Leader' || m.currentTerm !== state.term)
        throw new NotLeaderError('leadership lost during a read');
      return m.committed !== null && m.committed.term === state.term;
    }, 'the leader to commit an entry of its term');
    const readLogId = committedInTerm.committed;
    if (policy === 'lease' && this.#clock.now() < state.lease) return readLogId;
    // Read index: a quorum must acknowledge a heartbeat sent after the read started.
    const confirmed = (): boolean => {
      const until = this.#engine.leaseValidUntil();
      if (until === null) throw new NotLeaderError('leadership lost during a read');
      return until - this.#config.leaseMs * (1 - this.#config.maxClockDrift) >= started;
    };
    await this.#call(() => {
      // A transferring leader stays silent: a heartbeat would keep its followers from electing.
      if (this.#transferring() !== null) throw this.#forwardError();
      if (this.#engine.serverState() === 'Leader' && this.#engine.vote().term === state.term) {
        this.#engine.heartbeat(this.#clock.now());
      }
    });
    const deadline = this.#clock.now() + this.#config.electionTimeoutMaxMs * 2;
    for (;;) {
      const ok = await this.#call(() => {
        if (this.#engine.serverState() !== 'Leader' || this.#engine.vote().term !== state.term) {
          throw new NotLeaderError('leadership lost during a read');
        }
        return confirmed();
      });
      if (ok) return readLogId;
      if (this.#clock.now() > deadline) throw new TimeoutError('no quorum confirmed leadership for the read');
      await sleep(this.#clock, Math.max(1, Math.floor(this.#config.heartbeatIntervalMs / 4)));
    }
  }

  // ================================================================== helpers

  #encode(data: D, session?: ClientSession): EntryPayload {
    let bytes: Uint8Array;
    try {
      bytes = this.#codec.encode(data);
    } catch (err) {
      if (err instanceof InvalidRequestError) throw err;
      throw new InvalidRequestError('data', `the codec cannot encode it: ${String(err)}`);
    }
    if (bytes.byteLength > this.#config.maxEntryBytes)
      throw new EntryTooLargeError(bytes.byteLength, this.#config.maxEntryBytes);
    return session === undefined ? { type: 'normal', data: bytes } : { type: 'normal', data: bytes, session };
  }

  #propose(payloads: EntryPayload[]): Promise<ClientWriteResponse<R>>[] {
    const stoppedAs = this.#stoppedAs;
    if (stoppedAs) return payloads.map(() => Promise.reject(stoppedAs));
    if (this.#engine.serverState() !== 'Leader' || this.#transferring() !== null) {
      const err = this.#forwardError();
      return payloads.map(() => Promise.reject(err));
    }
    if (this.#pending.size + this.#proposals.length + payloads.length > this.#config.maxPendingWrites) {
      return payloads.map(() => Promise.reject(new OverloadedError()));
    }
    const out = payloads.map(
      (payload) =>
        new Promise<ClientWriteResponse<R>>((resolve, reject) => {
          this.#proposals.push({ payload, write: { logId: null, resolve, reject } });
        }),
    );
    this.#enqueue(() => this.#flushProposals());
    return out;
  }

  /**
   * Waits for the entry `logId` (appended by this leader) to be applied. Registered as pending at
   * once, so a stop before the next loop turn settles it with `OutcomeUnknown` instead of losing it.
   */
  #awaitApplied(logId: LogId): Promise<ClientWriteResponse<R>> {
    return new Promise((resolve, reject) => {
      const stopped = this.#stopped;
      if (stopped !== null) {
        reject(new OutcomeUnknownError(logId, `the node stopped: ${stopped.message}`, { cause: stopped }));
        return;
      }
      const write: PendingWrite<R> = { logId, resolve, reject };
      this.#pending.set(logId.index, write);
      this.#enqueue(() => {
        if (this.#pending.get(logId.index) !== write) return; // settled meanwhile
        if (compareLogId(this.#engine.applied(), logId) >= 0) {
          this.#pending.delete(logId.index);
          resolve({ logId, response: undefined as R });
        }
      });
    });
  }

  #requireLeader<T>(fn: (now: number) => T, opts: { writes?: boolean } = {}): T {
    if (this.#engine.serverState() !== 'Leader') throw this.#forwardError();
    if (opts.writes === true && this.#transferring() !== null) throw this.#forwardError();
    return fn(this.#clock.now());
  }

  /** The target of this leader's transfer in progress, or `null`. */
  #transferring(): NodeId | null {
    const t = this.#transfer;
    if (t === null) return null;
    if (this.#engine.serverState() === 'Leader' && this.#engine.vote().term === t.term) return t.to;
    this.#transfer = null;
    return null;
  }

  #leaderNode(): Node | null {
    const id = this.#engine.currentLeader();
    if (id === null) return null;
    return getNode(this.#engine.membership().effective.membership, id) ?? null;
  }

  #forwardError(): ForwardToLeaderError {
    const to = this.#transferring();
    if (to !== null) {
      return new ForwardToLeaderError(
        to,
        getNode(this.#engine.membership().effective.membership, to) ?? null,
      );
    }
    const leader = this.#engine.currentLeader();
    return new ForwardToLeaderError(
      leader === this.id ? null : leader,
      leader === this.id ? null : this.#leaderNode(),
    );
  }

  #ensureRunning(): void {
    if (this.#stoppedAs) throw this.#stoppedAs;
  }

  /** Queues an RPC into the loop; `reply` resolves it with the engine's response. */
  #rpc<T>(validate: () => T, handle: (req: T, reply: Reply, now: number) => void): Promise<EngineResponse> {
    return new Promise((resolve, reject) => {
      if (this.#stopped) {
        reject(new StoppedError());
        return;
      }
      let req: T;
      try {
        req = validate();
      } catch (err) {
        reject(err);
        return;
      }
      // Until answered, a stop rejects the RPC (the engine may hold its reply for a durable write).
      const abort = (err: Error) => reject(err);
      this.#rpcWaiters.add(abort);
      const reply = (r: EngineResponse) => {
        this.#rpcWaiters.delete(abort);
        resolve(r);
      };
      this.#queue.push(() => {
        try {
          handle(req, reply, this.#clock.now());
        } catch (err) {
          // A request the engine refuses fails alone; only a panic (a broken invariant) stops the node.
          if (err instanceof PanickedError || !(err instanceof Error)) throw err;
          this.#rpcWaiters.delete(abort);
          reject(err);
        }
      });
      if (!this.#draining) {
        this.#draining = true;
        queueMicrotask(() => this.#drain());
      }
    });
  }

  #publishMetrics(): void {
    this.#hub.publish(
      snapshotMetrics(
        this.id,
        this.#engine,
        this.#appliedForMetrics(),
        this.#config,
        this.#clock.now(),
        null,
      ),
    );
  }

  /** What the state machine holds (the TEST-ONLY `appliedBeforeInstall` bug: what it was handed). */
  #appliedForMetrics(): LogId | null {
    if (this.#plantedBugs?.has('appliedBeforeInstall') === true) return this.#engine.applied();
    return this.#worker.applied;
  }

  /** A fatal error: the node stops; nothing more is written. */
  #fail(err: Error): void {
    if (this.#stopped) return;
    this.#log.error('fatal error, stopping', { code: (err as { code?: string }).code, err: err.message });
    this.#stop(err);
  }

  #stop(err: Error): void {
    this.#stopped = err;
    const stopped =
      err instanceof StoppedError
        ? err
        : new StoppedError(`the node stopped: ${err.message}`, { cause: err });
    this.#stoppedAs = stopped;
    if (this.#tickTimer !== null) this.#clock.clearTimeout(this.#tickTimer);
    try {
      this.#streams?.closeAll();
    } catch (e) {
      // Settling every pending call below matters more than a transport's failing close.
      this.#log.debug('closing the replication streams failed', { err: String(e) });
    }
    this.#streams = null;
    for (const [id, c] of this.#voteClients) this.#closeClient(id, c);
    this.#voteClients.clear();
    const unknown = (w: PendingWrite<R>) =>
      w.reject(new OutcomeUnknownError(w.logId, `the node stopped: ${err.message}`, { cause: err }));
    for (const w of this.#pending.values()) unknown(w);
    this.#pending.clear();
    for (const p of this.#proposals) p.write.reject(stopped); // never appended
    this.#proposals = [];
    for (const w of this.#snapshotWaiters.splice(0)) w.reject(stopped);
    // RPCs waiting for a durable write or an apply will never be answered: fail them.
    for (const p of this.#postponed) p.reply = () => {};
    this.#postponed = [];
    this.#queue.length = 0;
    for (const abort of [...this.#queuedCalls]) abort(stopped);
    this.#queuedCalls.clear();
    for (const abort of [...this.#rpcWaiters]) abort(stopped);
    this.#rpcWaiters.clear();
    const m = snapshotMetrics(
      this.id,
      this.#engine,
      this.#appliedForMetrics(),
      this.#config,
      this.#clock.now(),
      err,
    );
    this.#hub.publish({ ...m, state: 'Shutdown' });
    this.#hub.close(stopped);
    void this.#worker.stop();
  }
}

// ==================================================================== free helpers

function engineConfig(c: RaftConfig): Partial<EngineConfig> {
  return {
    electionTimeoutMinMs: c.electionTimeoutMinMs,
    electionTimeoutMaxMs: c.electionTimeoutMaxMs,
    heartbeatIntervalMs: c.heartbeatIntervalMs,
    enablePreVote: c.enablePreVote,
    leaseMs: c.leaseMs,
    maxClockDrift: c.maxClockDrift,
    maxPayloadEntries: c.maxPayloadEntries,
    snapshotPolicy: { sinceLast: c.snapshotPolicy.sinceLast ?? 0 },
    maxInSnapshotLogToKeep: c.maxInSnapshotLogToKeep,
    purgeBatchSize: c.purgeBatchSize,
    allowLogReversion: c.allowLogReversion,
    checkQuorum: c.checkQuorum,
  };
}

function initialMetrics(id: NodeId, engine: Engine, config: RaftConfig): RaftMetrics {
  return snapshotMetrics(id, engine, engine.applied(), config, 0, null);
}

/**
 * The metrics of now. `applied` is what the state machine holds (the worker's view): the engine counts
 * a received snapshot applied once it hands it over, before the state machine installed it, and a
 * reader waiting for an applied index must find the state there.
 */
function snapshotMetrics(
  id: NodeId,
  engine: Engine,
  applied: LogId | null,
  config: RaftConfig,
  now: number,
  err: Error | null,
): RaftMetrics {
  const state = engine.serverState();
  const vote = engine.vote();
  const last = engine.lastLogId();
  const lease = engine.leaseValidUntil();
  // leaseValidUntil = quorum-acked send time + lease × (1 − drift): recover the ack time from it.
  const ackedAt = lease === null ? null : lease - config.leaseMs * (1 - config.maxClockDrift);
  return {
    id,
    state,
    currentTerm: vote.term,
    vote,
    lastLogIndex: last === null ? null : last.index,
    committed: engine.committed(),
    lastApplied: applied,
    snapshot: engine.snapshot()?.lastLogId ?? null,
    purged: engine.purged(),
    currentLeader: engine.currentLeader(),
    membership: engine.membership().effective,
    replication: engine.replicationMetrics(),
    millisSinceQuorumAck:
      ackedAt !== null && Number.isFinite(ackedAt) ? Math.max(0, Math.round(now - ackedAt)) : null,
    error: err === null ? null : { code: (err as { code?: string }).code ?? 'UNKNOWN', message: err.message },
  };
}

function expect<K extends EngineResponse['type']>(res: EngineResponse, type: K): ResponseOf<K> {
  if (res.type !== type) throw new PanickedError(`expected a ${type} response, got ${res.type}`);
  return res.response as ResponseOf<K>;
}

type ResponseOf<K extends EngineResponse['type']> = Extract<EngineResponse, { type: K }>['response'];

/**
 * Runs a snapshot sink operation; a failure is a `StorageError` (op `snapshot`) for the transfer's
 * caller only: the leader retries later, the node keeps running.
 */
async function spool<T>(op: () => Promise<T>, meta: SnapshotMeta): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (hasErrorCode(err, 'STOPPED') || hasErrorCode(err, 'STORAGE')) throw err;
    throw new StorageError('snapshot', `receiving snapshot ${meta.snapshotId}: ${String(err)}`, {
      cause: err,
    });
  }
}

/** A sink that keeps the received chunks in memory. */
function memorySnapshotSink(): SnapshotSink {
  let chunks: Uint8Array[] = [];
  return {
    write: async (chunk) => {
      chunks.push(chunk);
    },
    finish: async () => iterate(chunks),
    discard: async () => {
      chunks = [];
    },
  };
}

async function* iterate(chunks: Uint8Array[]): SnapshotData {
  for (const c of chunks) yield c;
}

/** Checks a write's session options; both fields or neither. */
function sessionOf(opts: WriteOptions): ClientSession | undefined {
  const { clientId, sequence } = opts;
  if (clientId === undefined && sequence === undefined) return undefined;
  if (typeof clientId !== 'string' || clientId.length === 0) {
    throw new InvalidRequestError('clientId', 'expected a non-empty string when a sequence is given');
  }
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new InvalidRequestError('sequence', 'expected a non-negative integer when a clientId is given');
  }
  return { clientId, sequence };
}

/** Checks a peer's `VoteResponse` (`@flotilla/types` has no validator for it); throws `InvalidRequestError`. */
function validateVoteResponse(x: unknown): VoteResponse {
  if (typeof x !== 'object' || x === null)
    throw new InvalidRequestError('voteResponse', 'expected an object');
  const r = x as Record<string, unknown>;
  if (typeof r.voteGranted !== 'boolean') {
    throw new InvalidRequestError('voteResponse.voteGranted', 'expected a boolean');
  }
  return {
    vote: validateVote(r.vote, 'voteResponse.vote'),
    voteGranted: r.voteGranted,
    lastLogId: validateOptionalLogId(r.lastLogId, 'voteResponse.lastLogId'),
  };
}

/** Runs `fn`, turning a synchronous throw into a rejected promise. */
function settle<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

function sameVote(a: Vote, b: Vote): boolean {
  return a.term === b.term && a.nodeId === b.nodeId && a.committed === b.committed;
}

function assertNever(x: never): never {
  return x;
}
