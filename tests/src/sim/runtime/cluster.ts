/**
 * The simulated cluster: real `Raft` nodes over the memory router and crash-aware memory stores, each
 * on its own drifting virtual clock, with crash/restart, pauses and clients that record a history.
 */
import {
  type MemoryLogState,
  type MemoryLogStore,
  MemoryRouter,
  type MemoryStateMachine,
  type MemoryStoredSnapshot,
  memoryLogStore,
  memoryStateMachine,
} from '@flotilla/memory';
import type { Raft, RaftConfigInput } from '@flotilla/raft';
import { UNKNOWN } from '@flotilla/testkit';
import { hasErrorCode, type NodeId, type RaftMetrics } from '@flotilla/types';
import type { Operation } from '../history.ts';
import type { Prng } from '../prng.ts';
import type { RaftModule } from './bugs.ts';
import { type NodeView, RuntimeChecker } from './checker.ts';
import { initialNetState, SimNet, SlowReadStore } from './net.ts';
import { NodeClock, SimScheduler } from './scheduler.ts';

/** The register the clients share: the last written value. */
export type Reg = number | null;

/** One node slot: its identity, drift, and the incarnation running now (if any). */
export interface SimNode {
  /** The node id. */
  id: NodeId;
  /** Its clock rate (drift) and reading at real time 0. */
  rate: number;
  offset: number;
  /** How many times it was started. */
  incarnation: number;
  /** The running incarnation, or null while it is down. */
  live: {
    clock: NodeClock;
    raft: Raft<number, Reg>;
    store: MemoryLogStore;
    sm: MemoryStateMachine<Reg, number, Reg>;
    metrics: RaftMetrics;
    unsubscribe: () => void;
  } | null;
  /** What its last crash left durable (used to restart it). */
  crashed: { log: MemoryLogState; snapshot: MemoryStoredSnapshot | null } | null;
}

/** Settings of one simulated cluster. */
export interface ClusterOptions {
  /** Node ids (every slot, voters and spares). */
  ids: NodeId[];
  /** Raft configuration of every node. */
  config: RaftConfigInput;
  /** Largest per-node clock drift (0.1: rates in [0.9, 1.1]). */
  drift: number;
  /** Every clock at the edge of the drift range (rates exactly 1 ± `drift`). */
  extremeDrift?: boolean;
  /** Flush delay of the stores, in ms (writes not yet flushed are lost on a crash). */
  flushMs: number;
  /** Chance that a log read takes time (1–8 ms). */
  slowReadRate: number;
  /**
   * Make truncate and purge durable when they resolve (a full flush right after them). A workaround:
   * the runtime reports them flushed as soon as they resolve, which the memory store does not promise.
   */
  durableTruncate?: boolean;
  /** The `@flotilla/raft` module whose `Raft` the nodes run (a patched copy plants bugs). */
  raftModule: RaftModule;
}

/** The whole simulated world of one seed. */
export class SimCluster {
  readonly sched = new SimScheduler();
  readonly checker = new RuntimeChecker(() => this.sched.now);
  readonly router: MemoryRouter;
  readonly net: SimNet;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly history: Operation[] = [];
  readonly trace: string[] = [];
  /** AppendEntries arrivals per receiver: `[time, leaderTerm]` of the last one. */
  readonly lastContact = new Map<NodeId, { at: number; term: number }>();
  readonly #rng: Prng;
  readonly #opts: ClusterOptions;
  #logical = 0;

  /** A cluster of stopped slots for `opts.ids`. */
  constructor(rng: Prng, opts: ClusterOptions) {
    this.#rng = rng;
    this.#opts = opts;
    const sched = this.sched;
    const routerRng = rng.fork();
    this.router = new MemoryRouter({
      random: () => routerRng.next(),
      scheduler: { setTimeout: (fn, ms) => sched.after(ms, fn) },
    });
    this.net = new SimNet(sched, rng.fork(), initialNetState());
    for (const id of opts.ids) {
      const rate =
        opts.extremeDrift === true
          ? 1 + rng.pick([-1, 1]) * opts.drift
          : 1 + (rng.next() * 2 - 1) * opts.drift;
      this.nodes.set(id, {
        id,
        rate,
        offset: rng.int(0, 100_000),
        incarnation: 0,
        live: null,
        crashed: null,
      });
    }
  }

  /** Appends a line to the trace (kept short). */
  log(line: string): void {
    this.trace.push(`[${this.sched.now.toFixed(1)}] ${line}`);
    if (this.trace.length > 400) this.trace.splice(0, 200);
  }

  /** The node slot `id`. */
  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  }

  /** Starts (or restarts from its crash state) node `id`. */
  async start(id: NodeId): Promise<void> {
    const n = this.node(id);
    if (n.live !== null) return;
    n.incarnation++;
    const inc = n.incarnation;
    const clock = new NodeClock(this.sched, n.rate, n.offset);
    const store = memoryLogStore({
      ...(n.crashed === null ? {} : { initial: n.crashed.log }),
      flush: { delayMs: this.#opts.flushMs },
      setTimer: (fn, ms) => clock.timer(fn, ms),
      maxReadEntries: 16,
    });
    const readRng = this.#rng.fork();
    const slow = new SlowReadStore(
      store,
      clock,
      () => (readRng.chance(this.#opts.slowReadRate) ? readRng.int(1, 9) : 0),
      this.#opts.durableTruncate === true ? () => store.flush() : undefined,
    );
    const sm = memoryStateMachine<Reg, number, Reg>({
      initial: null,
      apply: (s, d, logId) => {
        this.checker.onApply(id, logId, d);
        return [d, s] as const;
      },
      ...(n.crashed?.snapshot == null ? {} : { snapshot: n.crashed.snapshot }),
    });
    const electRng = this.#rng.fork();
    const raft = await this.#opts.raftModule.Raft.create<number, Reg>({
      id,
      config: this.#opts.config,
      network: this.net.factory(id, clock, this.router.factory(id)),
      logStore: slow,
      stateMachine: sm,
      clock,
      random: () => electRng.next(),
    });
    const live = {
      clock,
      raft,
      store,
      sm,
      metrics: raft.metrics.current,
      unsubscribe: () => {},
    };
    this.checker.onMetrics(id, inc, live.metrics);
    live.unsubscribe = raft.metrics.subscribe((m) => {
      if (n.live !== live) return;
      if (m.state === 'Leader' && live.metrics.state !== 'Leader')
        this.log(`${id} leader in term ${m.currentTerm}`);
      live.metrics = m;
      this.checker.onMetrics(id, inc, m);
    });
    n.live = live;
    this.router.register(
      id,
      this.net.handler(id, clock, raft, (req) => {
        this.lastContact.set(id, { at: this.sched.now, term: req.vote.term });
      }),
    );
    this.log(`start ${id}#${inc}${n.crashed === null ? '' : ' from its crash state'}`);
  }

  /** Crashes node `id`: unflushed writes are lost; its state machine keeps only its snapshot. */
  crash(id: NodeId): void {
    const n = this.node(id);
    const live = n.live;
    if (live === null) return;
    live.clock.kill();
    live.unsubscribe();
    this.router.unregister(id);
    n.crashed = { log: live.store.crash(), snapshot: live.sm.durableSnapshot() };
    n.live = null;
    live.raft.shutdown().catch(() => {});
    this.log(
      `crash ${id}#${n.incarnation} (durable last ${n.crashed.log.entries.at(-1)?.logId.index ?? '-'})`,
    );
  }

  /** Running nodes. */
  liveIds(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.live !== null).map((n) => n.id);
  }

  /** Running nodes that say they are leader. */
  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.live?.metrics.state === 'Leader').map((n) => n.id);
  }

  /** The durable state of node `id`, running or crashed (null if never started). */
  durable(id: NodeId): MemoryLogState | null {
    const n = this.node(id);
    return n.live !== null ? n.live.store.durableState() : (n.crashed?.log ?? null);
  }

  /** Runs the safety checks over every node's durable log and metrics. */
  check(): void {
    const views: NodeView[] = [];
    for (const n of this.nodes.values()) {
      const durable = this.durable(n.id);
      if (durable !== null) views.push({ id: n.id, durable, metrics: n.live?.metrics ?? null });
    }
    this.checker.checkDurable(views);
  }

  // ------------------------------------------------------------------ clients

  /**
   * Client `client` writes `values` (one batch) through node `id`; resolves when the client knows the outcome or
   * gives up after `timeoutMs` (then the write's outcome stays unknown).
   */
  async write(client: number, id: NodeId, values: readonly number[], timeoutMs: number): Promise<void> {
    const live = this.node(id).live;
    if (live === null || values.length === 0) return;
    const call = ++this.#logical;
    const proposed: Promise<unknown> =
      values.length === 1 ? live.raft.clientWrite(values[0]!) : live.raft.clientWriteMany(values);
    const outcome = await this.#race(
      proposed.then(
        () => 'ok' as const,
        (err: unknown) =>
          // Refused before it was proposed: it never takes effect. Anything else: unknown.
          hasErrorCode(err, 'FORWARD_TO_LEADER') || hasErrorCode(err, 'OVERLOADED')
            ? ('refused' as const)
            : ('unknown' as const),
      ),
      timeoutMs,
    );
    const ret = outcome === 'ok' || outcome === 'refused' ? ++this.#logical : Number.POSITIVE_INFINITY;
    for (const value of values) {
      const input = { kind: 'write' as const, value };
      if (outcome === 'ok' || outcome === 'refused')
        this.history.push({ clientId: client, input, output: { ok: outcome === 'ok' }, call, return: ret });
      else this.history.push({ clientId: client, input, output: UNKNOWN, call, return: ret });
    }
  }

  /** Client `client` reads through node `id` with `policy`; a failed or abandoned read observed nothing. */
  async read(client: number, id: NodeId, policy: 'readIndex' | 'lease', timeoutMs: number): Promise<void> {
    const live = this.node(id).live;
    if (live === null) return;
    const call = ++this.#logical;
    const t0 = this.sched.now;
    const term = live.metrics.currentTerm;
    const outcome = await this.#race(
      live.raft.ensureLinearizable({ policy }).then(
        () => {
          // Whichever the policy, a read that succeeded as term `term`'s leader was confirmed at or
          // after `t0`: by then no later term may have had a leader (read index: a quorum acked
          // after `t0`; lease: voters honour the lease).
          if (live.metrics.currentTerm === term) this.checker.onLinearizableRead(id, term, t0, policy);
          return { value: live.sm.state };
        },
        () => null,
      ),
      timeoutMs,
    );
    this.#recordRead(client, call, outcome);
  }

  /**
   * Client `client` reads on follower `followerId` through leader `leaderId`'s read linearizer: the
   * leader confirms a read point (`policy`), the follower waits until it applied it, then reads its
   * own state machine. A failed or abandoned read observed nothing.
   */
  async followerRead(
    client: number,
    leaderId: NodeId,
    followerId: NodeId,
    policy: 'readIndex' | 'lease',
    timeoutMs: number,
  ): Promise<void> {
    const leader = this.node(leaderId).live;
    const follower = this.node(followerId).live;
    if (leader === null || follower === null) return;
    const call = ++this.#logical;
    const read = async (): Promise<{ value: Reg } | null> => {
      const lin = await leader.raft.getReadLinearizer({ policy });
      if (lin.readLogId !== null) await follower.raft.wait({ timeoutMs }).appliedIndex(lin.readLogId.index);
      // The same incarnation, still running: its state machine is the one that applied the read point.
      if (this.node(followerId).live !== follower) return null;
      return { value: follower.sm.state };
    };
    const outcome = await this.#race(
      read().catch(() => null),
      timeoutMs,
    );
    this.#recordRead(client, call, outcome);
  }

  /** Records a read that observed `outcome.value`; a failed or abandoned read observed nothing. */
  #recordRead(client: number, call: number, outcome: { value: Reg } | null | 'timeout'): void {
    if (outcome === null || outcome === 'timeout') return;
    this.history.push({
      clientId: client,
      input: { kind: 'read' },
      output: { ok: true, value: outcome.value },
      call,
      return: ++this.#logical,
    });
  }

  /** `p`'s value, or `'timeout'` when it has not settled within `ms` (its outcome is then ignored). */
  #race<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
    return new Promise((resolve, reject) => {
      let done = false;
      const cancel = this.sched.after(ms, () => {
        if (done) return;
        done = true;
        resolve('timeout');
      });
      const settleWith = (f: () => void): void => {
        if (done) return;
        done = true;
        cancel();
        f();
      };
      p.then(
        (v) => settleWith(() => resolve(v)),
        (err: unknown) => settleWith(() => reject(err)),
      );
    });
  }
}
