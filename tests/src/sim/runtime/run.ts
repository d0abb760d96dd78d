/**
 * One seed of the runtime-level simulation: real `Raft` nodes on virtual time, a chaos phase with
 * every fault, then a healing phase that must elect a stable leader and converge, then the client
 * history through the linearizability checker.
 */
import type { RaftConfigInput } from '@flotilla/raft';
import { checkLinearizability, registerModel } from '@flotilla/testkit';
import type { Node, NodeId } from '@flotilla/types';
import { Prng } from '../prng.ts';
import { type RaftPatch, raftModule } from './bugs.ts';
import { SimCluster } from './cluster.ts';
import { settle } from './scheduler.ts';

/** Bugs the runtime simulator can plant (test-only) to prove it catches them. */
export type RuntimeBug =
  /** Lease reads without the clock-drift margin: `maxClockDrift: 0` while clocks drift ±10%. */
  | 'leaseWithoutDriftMargin'
  /** Heartbeats queued FIFO behind entry-carrying appends on the same link, large appends slow. */
  | 'heartbeatBehindAppend'
  /**
   * An old leader's replication streams keep sending entries read after it stepped down: the
   * runtime leaves them running and they never check the vote (the source patches
   * `keepStreamsOnStepDown` + `streamsSkipLeaderCheck`; either safeguard alone suffices, see `patches`).
   */
  | 'sendStaleReads'
  /** The runtime reports an append durable when the store accepted it, before its flush. */
  | 'appendDurableOnSubmit'
  /** Metrics count a received snapshot applied before the state machine installed it. */
  | 'appliedBeforeInstall';

/** Every plantable runtime bug. */
export const RUNTIME_BUGS: readonly RuntimeBug[] = [
  'leaseWithoutDriftMargin',
  'heartbeatBehindAppend',
  'sendStaleReads',
  'appendDurableOnSubmit',
  'appliedBeforeInstall',
];

/** The source patches (`bugs.ts`) a runtime bug plants. */
function patchesOf(bug: RuntimeBug | null): RaftPatch[] {
  switch (bug) {
    case 'sendStaleReads':
      return ['keepStreamsOnStepDown', 'streamsSkipLeaderCheck'];
    case 'appendDurableOnSubmit':
      return ['appendDurableOnSubmit'];
    case 'appliedBeforeInstall':
      return ['appliedBeforeInstall'];
    default:
      return [];
  }
}

/** Faults injected, by kind (`dupMessages` counts duplicated messages, the rest fault events). */
export interface RuntimeFaultCounts {
  crash: number;
  pause: number;
  partition: number;
  loss: number;
  delay: number;
  dup: number;
  dupMessages: number;
  membership: number;
  snapshot: number;
  purge: number;
  /** Leader isolated while probe clients keep reading from it with lease reads. */
  leaseProbe: number;
}

function zeroRuntimeFaults(): RuntimeFaultCounts {
  return {
    crash: 0,
    pause: 0,
    partition: 0,
    loss: 0,
    delay: 0,
    dup: 0,
    dupMessages: 0,
    membership: 0,
    snapshot: 0,
    purge: 0,
    leaseProbe: 0,
  };
}

/** Options of one runtime-level seed. */
export interface RuntimeSimOptions {
  /** The seed: the whole run is a function of it. */
  seed: number;
  /** Scheduler events of the chaos phase (the healing phase comes on top). */
  steps: number;
  /** A planted bug to switch on, or none. */
  bug?: RuntimeBug | null;
  /** Slow large appends on their own lane (the control run of `heartbeatBehindAppend`). */
  slowLargeAppends?: boolean;
  /**
   * Every clock at the edge of the ±10% drift range and 1 ms flushes, so elections finish as early
   * as the voters' leases allow (the control run of `leaseWithoutDriftMargin`).
   */
  leaseStress?: boolean;
  /**
   * Source patches to plant directly (on top of `bug`'s): the control runs of a bug made of two
   * removed safeguards plant one of them at a time.
   */
  patches?: readonly RaftPatch[];
  /** Raft settings to use instead of the seed's (e.g. a narrow election timeout range). */
  config?: Partial<RaftConfigInput>;
  /** Check the client history for linearizability (default true). */
  checkLinearizability?: boolean;
  /** The checker's budget in search steps (default {@link LINEARIZABILITY_STEP_BUDGET}). */
  linearizabilityStepBudget?: number;
  /**
   * `false` adds an explicit flush after every truncate and purge (`ClusterOptions.durableTruncate`).
   * The storage contract now makes them durable on resolve, so by default no extra flush is added.
   */
  strictTruncate?: boolean;
}

/** What one seed did. */
export interface RuntimeSimResult {
  seed: number;
  /** Scheduler events run (chaos + healing). */
  steps: number;
  /** Virtual time simulated, in ms. */
  virtualMs: number;
  faults: RuntimeFaultCounts;
  /** The first violation (safety, liveness or linearizability), or null. */
  violation: string | null;
  /** The last trace lines before the end (or the violation). */
  trace: string[];
  /** Client operations recorded. */
  operations: number;
  /** 'ok', 'illegal', 'unknown' (over the checker's step budget), or 'unchecked'. */
  linearizability: string;
  /** Search steps the linearizability checker used (0 when unchecked). */
  linearizabilitySteps: number;
  /** The closest a later leader's election came after a lease read's start, in ms (see `RuntimeChecker`). */
  closestLeaseMs: number;
}

/**
 * The linearizability checker's budget per history, in search steps: a history over it is reported
 * `'unknown'` (over budget). Steps, not milliseconds, so a seed's verdict is the same on every machine
 * and under any load.
 */
export const LINEARIZABILITY_STEP_BUDGET = 1_000_000;

const CLIENTS = 3;
const OP_TIMEOUT_MS = 1500;
const HEAL_DEADLINE_MS = 20_000;
const STABLE_MS = 1500;

/** Runs one seed. */
export async function runRuntimeSeed(opts: RuntimeSimOptions): Promise<RuntimeSimResult> {
  const rng = new Prng(opts.seed ^ 0x5eed_0001);
  const bug = opts.bug ?? null;
  const voters = rng.int(3, 6);
  const spares = rng.int(1, 3);
  const ids: NodeId[] = [];
  for (let i = 1; i <= voters + spares; i++) ids.push(`n${i}`);
  const slowLarge = bug === 'heartbeatBehindAppend' || opts.slowLargeAppends === true;
  const patches = new Set<RaftPatch>([...patchesOf(bug), ...(opts.patches ?? [])]);
  const raft = await raftModule([...patches]);
  const leaseStress = bug === 'leaseWithoutDriftMargin' || opts.leaseStress === true;
  // The leader's flow control on some seeds, from a PRNG of its own so the other draws (and what
  // earlier seeds covered) stay as they were.
  const flow = new Prng(opts.seed ^ 0x0f10_3001);
  const maxUncommittedEntries = flow.chance(0.4) ? flow.int(1, 4) : null;
  const config: RaftConfigInput = {
    heartbeatIntervalMs: 50,
    electionTimeoutMinMs: 150,
    // Lease stress: elections right after the voters' leases end, to meet a lease that outlives them.
    electionTimeoutMaxMs: leaseStress ? 170 : 300,
    leaseMs: 150,
    // Each clock drifts up to ±10%, so two clocks differ by up to 1.1/0.9 ≈ 22%: the margin must
    // cover that (a margin of 0.1 would not). The planted bug drops the margin altogether.
    maxClockDrift: bug === 'leaseWithoutDriftMargin' ? 0 : 0.2,
    enablePreVote: rng.chance(0.7),
    maxPayloadEntries: slowLarge ? rng.int(4, 9) : rng.int(1, 9),
    snapshotPolicy: { sinceLast: rng.int(10, 40) },
    maxInSnapshotLogToKeep: rng.int(0, 6),
    purgeBatchSize: rng.int(1, 4),
    checkQuorum: true,
    maxUncommittedEntries,
    ...opts.config,
  };
  const c = new SimCluster(rng.fork(), {
    ids,
    config,
    drift: 0.1,
    extremeDrift: leaseStress,
    flushMs: leaseStress ? 1 : rng.int(1, 6),
    slowReadRate: patches.has('streamsSkipLeaderCheck') ? 0.6 : 0.2,
    // Truncate and purge are durable on resolve by the storage contract now (the memory store flushes
    // on them); the extra flush is kept only as an opt-in control.
    durableTruncate: opts.strictTruncate === false,
    raftModule: raft,
  });
  c.net.state.heartbeatBehindAppend = bug === 'heartbeatBehindAppend';
  c.net.state.slowLargeAppends = slowLarge;
  const faults = zeroRuntimeFaults();
  const sched = c.sched;
  const starting = new Set<NodeId>();
  let violation: string | null = null;
  const fail = (msg: string): void => {
    if (violation === null) violation = msg;
  };
  const startBg = (id: NodeId): void => {
    if (starting.has(id) || c.node(id).live !== null) return;
    starting.add(id);
    c.start(id).then(
      () => starting.delete(id),
      (err: unknown) => fail(`restart of ${id} failed: ${String(err)}`),
    );
  };
  for (const id of ids) startBg(id);
  for (let i = 0; starting.size > 0 && i < 100; i++) await sched.step(sched.now + 1);
  const initial: Record<NodeId, Node> = {};
  for (const id of ids.slice(0, voters)) initial[id] = { addr: `${id}:1` };
  c.node('n1')
    .live?.raft.initialize(initial)
    .catch((err: unknown) => fail(`initialize failed: ${String(err)}`));

  // Undo actions of timed faults, and client state.
  let undo: { at: number; what: string; fn: () => void }[] = [];
  const clients = CLIENTS;
  const busy = new Array<boolean>(clients).fill(false);
  let nextValue = 0;
  // Lease-probe reads are concurrent: each gets its own client id (past the regular clients').
  let nextProbeClient = 1000;
  let healOkWrites = 0;
  let healing = false;

  const anyLive = (): NodeId | null => {
    const live = c.liveIds();
    return live.length === 0 ? null : rng.pick(live);
  };
  const clientTick = (): void => {
    for (let k = 0; k < clients; k++) {
      if (busy[k] || !rng.chance(0.5)) continue;
      const leaders = c.leaders();
      const target = leaders.length > 0 && rng.chance(0.8) ? rng.pick(leaders) : anyLive();
      if (target === null) continue;
      busy[k] = true;
      const r = rng.next();
      let op: Promise<void>;
      if (r < 0.5) {
        const n = rng.chance(slowLarge ? 0.4 : 0.1) ? rng.int(2, 6) : 1;
        const values = Array.from({ length: n }, () => ++nextValue);
        const before = c.history.length;
        op = c.write(k, target, values, OP_TIMEOUT_MS).then(() => {
          if (
            healing &&
            c.history.slice(before).some((o) => o.input.kind === 'write' && o.return !== Infinity)
          )
            healOkWrites++;
        });
      } else {
        const policy = rng.chance(0.6) ? 'readIndex' : 'lease';
        const followers = c.liveIds().filter((id) => id !== target);
        op =
          leaders.includes(target) && followers.length > 0 && rng.chance(0.3)
            ? c.followerRead(k, target, rng.pick(followers), policy, OP_TIMEOUT_MS)
            : c.read(k, target, policy, OP_TIMEOUT_MS);
      }
      op.then(
        () => {
          busy[k] = false;
        },
        (err: unknown) => fail(`client ${k} failed: ${String(err)}`),
      );
    }
  };
  const timed = (ms: number, what: string, fn: () => void): void => {
    undo.push({ at: sched.now + ms, what, fn });
  };
  const faultTick = (): void => {
    const kind = rng.int(0, 10);
    const id = anyLive();
    switch (kind) {
      case 0: {
        if (id === null || c.liveIds().length <= 1) return;
        faults.crash++;
        c.crash(id);
        timed(rng.int(50, 800), `restart ${id}`, () => startBg(id));
        return;
      }
      case 1: {
        const clock = id === null ? null : c.node(id).live?.clock;
        if (clock == null || clock.paused) return;
        faults.pause++;
        clock.pause();
        c.log(`pause ${id}`);
        timed(rng.int(30, 500), `resume ${id}`, () => clock.resume());
        return;
      }
      case 2: {
        faults.partition++;
        // Half the cuts hit the leader: that is where reads, leases and elections meet.
        const a = rng.chance(0.5) ? (c.leaders()[0] ?? rng.pick(ids)) : rng.pick(ids);
        if (rng.chance(0.4)) {
          c.router.isolate(a);
          c.log(`isolate ${a}`);
        } else {
          const b = rng.pick(ids.filter((x) => x !== a));
          c.router.blockLink(a, b);
          if (rng.chance(0.6)) c.router.blockLink(b, a);
          c.log(`cut ${a} -> ${b}`);
        }
        timed(rng.int(100, 1500), `heal ${a}`, () => c.router.heal(a));
        return;
      }
      case 3: {
        faults.loss++;
        c.router.setDropRate(rng.next() * 0.05);
        timed(rng.int(100, 1000), 'no loss', () => c.router.setDropRate(0));
        return;
      }
      case 4: {
        faults.delay++;
        c.router.setDelay(0, rng.int(1, 25));
        timed(rng.int(100, 1000), 'short delays', () => c.router.setDelay(0, 2));
        return;
      }
      case 5: {
        faults.dup++;
        c.net.state.dupRate = rng.next() * 0.1;
        timed(rng.int(100, 1000), 'no dup', () => {
          c.net.state.dupRate = 0;
        });
        return;
      }
      case 6: {
        const leader = c.leaders()[0];
        const raft = leader === undefined ? null : (c.node(leader).live?.raft ?? null);
        if (raft === null) return;
        faults.membership++;
        const m = raft.metrics.current.membership.membership;
        const members = Object.keys(m.nodes);
        const outside = ids.filter((x) => !members.includes(x));
        if (outside.length > 0 && rng.chance(0.5)) {
          const add = rng.pick(outside);
          c.log(`addLearner ${add} via ${leader}`);
          raft.addLearner(add, { addr: `${add}:1` }, { blocking: false }).catch(() => {});
        } else {
          const size = Math.min(members.length, rng.int(3, 6));
          const pool = [...members];
          const next: NodeId[] = [];
          while (next.length < size && pool.length > 0)
            next.push(pool.splice(rng.int(0, pool.length), 1)[0]!);
          c.log(`changeMembership [${next.join(',')}] via ${leader}`);
          raft.changeMembership(next, { retain: rng.chance(0.5) }).catch(() => {});
        }
        return;
      }
      case 7: {
        const raft = id === null ? null : (c.node(id).live?.raft ?? null);
        if (raft === null) return;
        faults.snapshot++;
        c.log(`trigger snapshot on ${id}`);
        raft.trigger.snapshot().catch(() => {});
        return;
      }
      case 8: {
        // Lease probe: cut the leader off and read from it with lease reads every few ms while the
        // others elect: a lease that outlives the voters' promise shows as a read served after a
        // later leader's election (read safety) or as a stale value (linearizability).
        const leader = c.leaders()[0];
        if (leader === undefined) return;
        faults.leaseProbe++;
        c.router.isolate(leader);
        c.log(`lease probe: isolate ${leader}`);
        const until = sched.now + rng.int(200, 500);
        const probe = (): void => {
          if (sched.now >= until || violation !== null) return;
          if (c.node(leader).live?.metrics.state === 'Leader') {
            c.read(nextProbeClient++, leader, 'lease', 40).catch((err: unknown) =>
              fail(`lease probe failed: ${String(err)}`),
            );
          }
          sched.after(rng.int(1, 4), probe);
        };
        probe();
        timed(until - sched.now + 1, `heal ${leader}`, () => c.router.heal(leader));
        return;
      }
      default: {
        const live = id === null ? null : c.node(id).live;
        const applied = live?.metrics.lastApplied?.index;
        if (live == null || applied === undefined) return;
        faults.purge++;
        c.log(`trigger purge on ${id} up to ${applied}`);
        live.raft.trigger.purgeLog(applied).catch(() => {});
        return;
      }
    }
  };
  const runUndos = (all: boolean): void => {
    const due = undo.filter((u) => all || u.at <= sched.now);
    undo = undo.filter((u) => !due.includes(u));
    for (const u of due) {
      c.log(u.what);
      u.fn();
    }
  };

  let steps = 0;
  let nextTick = sched.now + 10;
  const step = async (onTick: () => void): Promise<void> => {
    if (await sched.step(nextTick)) steps++;
    else {
      onTick();
      nextTick = sched.now + rng.int(5, 30);
    }
    c.check();
    if (c.checker.violation !== null) fail(c.checker.violation);
  };

  // Chaos.
  while (steps < opts.steps && violation === null) {
    await step(() => {
      runUndos(false);
      clientTick();
      if (rng.chance(0.12)) faultTick();
    });
  }

  // Healing: every fault goes, every node comes back; a leader must emerge, stay, and converge.
  if (violation === null) {
    healing = true;
    runUndos(true);
    c.router.heal();
    c.router.setDropRate(0);
    c.router.setDelay(0, 2);
    c.net.state.dupRate = 0;
    for (const id of ids) {
      c.node(id).live?.clock.resume();
      startBg(id);
    }
    c.log('--- healing ---');
    const deadline = sched.now + HEAL_DEADLINE_MS;
    let stable: { leader: NodeId; term: number; since: number } | null = null;
    let converged = false;
    while (violation === null && !converged) {
      await step(() => {
        clientTick();
        const leaders = c.leaders();
        const leader = leaders.length === 1 ? leaders[0]! : null;
        const lm = leader === null ? null : c.node(leader).live!.metrics;
        if (leader === null || lm === null) {
          stable = null;
          return;
        }
        if (stable === null || stable.leader !== leader || stable.term !== lm.currentTerm)
          stable = { leader, term: lm.currentTerm, since: sched.now };
        const committed = lm.committed;
        if (committed === null || committed.term !== lm.currentTerm) return;
        const members = Object.keys(lm.membership.membership.nodes);
        const caughtUp = members.every((m) => {
          const mm = c.node(m).live?.metrics;
          return mm !== undefined && (mm.lastApplied?.index ?? -1) >= committed.index;
        });
        converged = caughtUp && healOkWrites > 0 && sched.now - stable.since >= STABLE_MS;
      });
      if (!converged && sched.now > deadline) {
        const s = stable as { leader: NodeId; term: number; since: number } | null;
        fail(
          `liveness (${s === null || sched.now - s.since < STABLE_MS ? 'leader churn' : 'no convergence'}): no stable, converged leader ${HEAL_DEADLINE_MS} ms after healing (leaders now [${c.leaders().join(',')}], ` +
            `stable ${s === null ? 'none' : `${s.leader}@${s.term} for ${(sched.now - s.since).toFixed(0)} ms`}, acknowledged writes since healing ${healOkWrites}; ${ids
              .map((id) => {
                const m = c.node(id).live?.metrics;
                return m === undefined
                  ? `${id}: down`
                  : `${id}: ${m.state} t${m.currentTerm} last ${m.lastLogIndex} committed ${m.committed?.index ?? '-'} applied ${m.lastApplied?.index ?? '-'} voters [${m.membership.membership.configs.map((x) => x.join(',')).join(' | ')}]${m.error === null ? '' : ` error ${m.error.code}: ${m.error.message}`}`;
              })
              .join('; ')})`,
        );
      }
    }
  }

  let lin = 'unchecked';
  let linSteps = 0;
  if (violation === null && opts.checkLinearizability !== false) {
    const v = checkLinearizability(registerModel(), c.history, {
      maxSteps: opts.linearizabilityStepBudget ?? LINEARIZABILITY_STEP_BUDGET,
    });
    lin = v.result;
    linSteps = v.steps;
    if (v.result === 'illegal') fail(`linearizability: ${v.explanation ?? 'illegal history'}`);
  }
  // Tear down: every incarnation dies; nothing of this seed runs on.
  for (const id of ids) c.crash(id);
  // Let what the dead incarnations already started run out, so nothing of this seed overlaps the next.
  await settle(50);
  faults.dupMessages = c.net.state.duplicates;
  return {
    seed: opts.seed,
    steps,
    virtualMs: Math.round(sched.now),
    faults,
    violation,
    trace: c.trace.slice(-120),
    operations: c.history.length,
    linearizability: lin,
    linearizabilitySteps: linSteps,
    closestLeaseMs: c.checker.closestLeaseMs,
  };
}
