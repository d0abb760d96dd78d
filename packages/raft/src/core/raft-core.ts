/**
 * `RaftCore`: one node's engine and the parts that carry out its commands.
 *
 * Owns: the engine, the executor of its commands (each handed to the part that owns it), the
 * answers postponed until their condition holds, the tick timer and runtime toggles, the turn's
 * bookkeeping (step-down, metrics) and the order of a stop. Must never: validate input (the RPC
 * handler and the API facade do, before anything reaches the loop), call storage, the network or
 * the state machine itself (its parts do), or keep a copy of a fact the engine knows.
 */
import {
  type Command,
  type Condition,
  Engine,
  type EngineConfig,
  type EngineResponse,
  type EngineStartup,
} from '@flotilla/engine';
import {
  type Codec,
  compareLogId,
  type Logger,
  type LogId,
  type NodeId,
  PanickedError,
  type StoppedError,
  silentLogger,
  systemClock,
  type TimerHandle,
} from '@flotilla/types';
import type { RaftOptions, RaftStateView, RuntimeToggles } from '../api.ts';
import { msgpackCodec } from '../codec.ts';
import { createConfig, type RaftConfig } from '../config.ts';
import { Wait } from '../metrics.ts';
import { loadStartup } from '../startup.ts';
import { ClientWrites } from './client-writes.ts';
import { labelledLogger } from './labelled-logger.ts';
import { LazyMetricsHub } from './lazy-metrics.ts';
import { Leadership } from './leadership.ts';
import { LogIo } from './log-io.ts';
import { CoreLoop } from './loop.ts';
import { metricsOf } from './metrics-report.ts';
import type { CoreParts } from './parts.ts';
import { Peers } from './peers.ts';
import { raftStateOf } from './raft-state.ts';
import { Reads } from './reads.ts';
import { ReplicationDriver } from './replication-driver.ts';
import { StateMachineDriver } from './sm-driver.ts';

/** An engine answer and where it goes. */
type Reply = (response: EngineResponse) => void;

/** An answer the engine gave on a condition not met yet. */
interface Postponed {
  when: Condition;
  reply: Reply;
  response: EngineResponse;
}

/** One node's core (see the file comment). Made by {@link RaftCore.create}. */
export class RaftCore<D, R> {
  /** The shared components. */
  readonly parts: CoreParts;
  /** Metrics, published after every turn (computed then only while someone listens). */
  readonly hub: LazyMetricsHub;
  /** Who leads, and the leadership transfer in progress. */
  readonly leadership: Leadership;
  /** Client writes and their responders. */
  readonly writes: ClientWrites<D, R>;
  /** Linearizable read points. */
  readonly reads: Reads;
  /** The state machine's worker and snapshot installs. */
  readonly stateMachine: StateMachineDriver<D, R>;
  readonly #io: LogIo;
  readonly #peers: Peers;
  readonly #replication: ReplicationDriver<D, R>;
  #postponed: Postponed[] = [];
  #tickTimer: TimerHandle | null = null;
  // Start-up values from the config (enableTick / enableHeartbeat / enableElect); `toggles` flips them.
  #tickEnabled: boolean;
  #heartbeatEnabled: boolean;
  #electEnabled: boolean;
  #wasLeader = false;

  private constructor(parts: CoreParts, opts: RaftOptions<D, R>, codec: Codec<D>, applied: LogId | null) {
    this.parts = parts;
    const { id, engine, config, logger, loop } = parts;
    this.#tickEnabled = config.enableTick;
    this.#heartbeatEnabled = config.enableHeartbeat;
    this.#electEnabled = config.enableElect;
    let first = true;
    this.hub = new LazyMetricsHub(
      () => {
        // The first value is built before the state machine driver exists.
        const applied = first ? engine.applied() : this.stateMachine.appliedForMetrics;
        const now = first ? 0 : parts.clock.now();
        const acked = first ? noAcks : (t: NodeId) => this.#replication.lastAcked(t);
        first = false;
        return metricsOf(id, engine, applied, config, now, null, acked);
      },
      (err) => logger.warn('a metrics subscriber threw', { err: String(err) }),
    );
    this.leadership = new Leadership(parts);
    this.writes = new ClientWrites<D, R>(parts, codec, this.leadership);
    this.reads = new Reads(parts, this.leadership, () => this.wait());
    this.#io = new LogIo(parts, opts.logStore, () => this.#releasePostponed());
    this.#peers = new Peers(parts, opts.network);
    this.stateMachine = new StateMachineDriver<D, R>(parts, {
      stateMachine: opts.stateMachine,
      store: opts.logStore,
      codec,
      lastApplied: applied,
      onApplied: (last, entries) => {
        this.writes.onApplied(entries);
        engine.onApplied(last);
        this.#releasePostponed();
      },
      onSnapshotBuilt: () => this.#releasePostponed(),
    });
    this.#replication = new ReplicationDriver<D, R>(parts, {
      io: this.#io,
      peers: this.#peers,
      store: opts.logStore,
      stateMachine: opts.stateMachine,
    });
    loop.plug({
      afterItem: () => this.#runCommands(),
      hasQueuedWrites: () => this.writes.hasQueued,
      flushWrites: () => this.writes.flush(),
      afterTurn: () => this.#afterTurn(),
      beforeStopRejects: (err, stoppedAs) => this.#beforeStopRejects(err, stoppedAs),
      afterStopRejects: (err, stoppedAs) => this.#afterStopRejects(err, stoppedAs),
    });
  }

  /**
   * Reads the vote, log state, committed id, state-machine state and snapshot, hands them to a new
   * engine and starts the loop and the tick timer.
   */
  static async create<D, R>(opts: RaftOptions<D, R>): Promise<RaftCore<D, R>> {
    const config = createConfig(opts.config);
    const clock = opts.clock ?? systemClock;
    const logger: Logger = labelledLogger(opts.logger ?? silentLogger, config.clusterName, opts.id);
    const engine = new Engine({
      id: opts.id,
      config: engineConfig(config),
      random: opts.random ?? Math.random,
    });
    const startup: EngineStartup = await loadStartup(opts.logStore, opts.stateMachine);
    engine.startup(startup, clock.now());
    const loop = new CoreLoop(logger);
    const parts: CoreParts = { id: opts.id, config, engine, clock, logger, loop };
    const core = new RaftCore<D, R>(parts, opts, opts.codec ?? msgpackCodec<D>(), startup.applied);
    loop.enqueue(() => {});
    core.#scheduleTick();
    return core;
  }

  /** Waits for metrics predicates (default timeout: 10 election timeouts). */
  wait(opts: { timeoutMs?: number } = {}): Wait {
    const { clock, config } = this.parts;
    return new Wait(this.hub, clock, opts.timeoutMs ?? config.electionTimeoutMaxMs * 10);
  }

  /** A frozen deep copy of the Raft state now (inside the loop). */
  raftState(): RaftStateView {
    return raftStateOf(this.parts.id, this.parts.engine);
  }

  /** The runtime switches. */
  get toggles(): RuntimeToggles {
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

  /** The id of this node. */
  get id(): NodeId {
    return this.parts.id;
  }

  /** The validated configuration. */
  get config(): RaftConfig {
    return this.parts.config;
  }

  /**
   * Stops the node (if running) and resolves once no storage or state-machine call is running, so
   * the caller may close its stores.
   */
  async shutdown(err: StoppedError): Promise<void> {
    this.parts.loop.stop(err);
    await this.stateMachine.stop();
    await this.#io.idle;
  }

  #runCommands(): void {
    const engine = this.parts.engine;
    for (;;) {
      const cmds = engine.takeCommands();
      if (cmds.length === 0) return;
      // Snapshot installs start before the batch's purge runs, so the purge can wait for them.
      this.stateMachine.startInstalls(cmds);
      for (const cmd of cmds) this.#execute(cmd);
      // The batch's writes are accepted, the commit index may have moved: the streams' watches say so.
      this.#io.publish();
    }
  }

  /** Hands one engine command to the part that owns it. */
  #execute(cmd: Command): void {
    switch (cmd.type) {
      case 'saveVote':
        this.#io.saveVote(cmd);
        return;
      case 'appendEntries':
        this.#io.appendEntries(cmd);
        return;
      case 'truncateLog':
        this.#io.truncateLog(cmd);
        return;
      case 'purgeLog':
        this.#io.purgeLog(cmd, this.stateMachine.installing);
        return;
      case 'saveCommittedAndApply': {
        const readable = this.#io.saveCommitted(cmd.committed);
        this.writes.onCommitted(cmd.committed);
        this.stateMachine.apply(cmd.prevCommitted, cmd.committed, readable);
        return;
      }
      case 'replicate':
        this.#replication.replicate(cmd);
        return;
      case 'replicateSnapshot':
        this.#replication.replicateSnapshot(cmd);
        return;
      case 'rebuildReplicationStreams':
        this.#replication.rebuild(cmd);
        return;
      case 'sendVote':
        this.#peers.sendVote(cmd.target, cmd.request);
        return;
      case 'broadcastHeartbeat':
        this.#replication.broadcastHeartbeat(cmd);
        return;
      case 'sendTransferLeader':
        this.#peers.sendTransferLeader(cmd.target, cmd.request);
        return;
      case 'respond':
        if (cmd.when === null || this.#conditionMet(cmd.when)) (cmd.reply as Reply)(cmd.response);
        else this.#postponed.push({ when: cmd.when, reply: cmd.reply as Reply, response: cmd.response });
        return;
      case 'stateMachine':
        this.stateMachine.run(cmd);
        return;
      default:
        throw new PanickedError(`unknown command ${JSON.stringify(assertNever(cmd))}`);
    }
  }

  #conditionMet(c: Condition): boolean {
    const engine = this.parts.engine;
    switch (c.type) {
      case 'ioFlushed':
        return engine.ioProgress().flushed.ioId >= c.ioId;
      case 'applied':
        return compareLogId(engine.applied(), c.logId) >= 0;
      case 'snapshot':
        return compareLogId(engine.snapshot()?.lastLogId ?? null, c.logId) >= 0;
    }
  }

  #releasePostponed(): void {
    const postponed = this.#postponed;
    if (postponed.length === 0) return;
    // Kept in place, in order: no new array per I/O completion.
    let kept = 0;
    for (let i = 0; i < postponed.length; i++) {
      const p = postponed[i] as Postponed;
      if (this.#conditionMet(p.when)) p.reply(p.response);
      else postponed[kept++] = p;
    }
    postponed.length = kept;
  }

  /** Bookkeeping after the queue ran dry: leadership changes, metrics. */
  #afterTurn(): void {
    const leader = this.parts.engine.serverState() === 'Leader';
    if (this.#wasLeader && !leader) this.writes.onStepDown();
    this.#wasLeader = leader;
    this.#peers.pruneRemoved();
    // Acknowledgements of this turn may confirm waiting reads; a next round's heartbeat goes out now.
    this.reads.check();
    this.#runCommands();
    this.hub.changed();
  }

  /** The stop's last metrics: `Shutdown`, with the error. */
  #publishStopped(err: Error): void {
    const { id, engine, config, clock } = this.parts;
    const m = metricsOf(id, engine, this.stateMachine.appliedForMetrics, config, clock.now(), err, (t) =>
      this.#replication.lastAcked(t),
    );
    this.hub.publish({ ...m, state: 'Shutdown' });
  }

  #scheduleTick(): void {
    const { loop, clock, config } = this.parts;
    if (loop.stopped) return;
    const every = Math.max(1, Math.floor(config.heartbeatIntervalMs / 2));
    this.#tickTimer = clock.setTimeout(() => {
      this.#tickTimer = null;
      loop.enqueue(() => this.#tick());
      this.#scheduleTick();
    }, every);
  }

  #tick(): void {
    if (!this.#tickEnabled) return;
    const engine = this.parts.engine;
    const state = engine.serverState();
    if (state === 'Leader' && !this.#heartbeatEnabled) return;
    if (state !== 'Leader' && !this.#electEnabled) return;
    engine.tick(this.parts.clock.now());
  }

  #beforeStopRejects(err: Error, stoppedAs: StoppedError): void {
    if (this.#tickTimer !== null) this.parts.clock.clearTimeout(this.#tickTimer);
    // Settling every pending call below matters more than a transport's failing close.
    this.#replication.closeAll();
    this.#peers.closeAll();
    this.writes.stop(err, stoppedAs);
    this.stateMachine.rejectWaiters(stoppedAs);
    this.reads.stop(stoppedAs);
    // RPCs waiting for a durable write or an apply will never be answered: the loop fails them.
    for (const p of this.#postponed) p.reply = () => {};
    this.#postponed = [];
  }

  #afterStopRejects(err: Error, stoppedAs: StoppedError): void {
    this.#publishStopped(err);
    this.hub.close(stoppedAs);
    void this.stateMachine.stop();
  }
}

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

function assertNever(x: never): never {
  return x;
}

/** Before the replication driver exists: no target has acknowledged anything. */
const noAcks = (): null => null;
