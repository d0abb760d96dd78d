import type { EngineConfig } from '@flotilla/engine';
import { compareLogId, formatLogId, isMember, memberIds, type NodeId, voterIds } from '@flotilla/types';
import { checkHistory, LINEARIZABILITY_MAX_STEPS } from '../history.ts';
import { Prng } from '../prng.ts';
import { lastOf } from './disk.ts';
import { type EngineClass, type FaultCounts, type NetConfig, World } from './world.ts';

/** Options of one engine-level simulation seed. */
export interface EngineSimOptions {
  /** The seed: the whole run is a function of it. */
  seed: number;
  /** Events of the chaos phase (the healing phase comes on top). */
  steps: number;
  /**
   * The `Engine` class to run: `@flotilla/engine`'s, or a copy with a bug planted (`loadEngine` in
   * `bugs.ts` / `levels.ts`).
   */
  engine: EngineClass;
  /** Check the client history for linearizability (default true). */
  checkLinearizability?: boolean;
  /**
   * The linearizability checker's budget in search steps (default `LINEARIZABILITY_MAX_STEPS`):
   * deterministic, so a seed's verdict never depends on machine load. Out of budget: `unknown`.
   */
  linearizabilityMaxSteps?: number;
}

/** What one seed did. */
export interface EngineSimResult {
  seed: number;
  /** Events run (chaos + healing). */
  steps: number;
  faults: FaultCounts;
  /** The first violation (safety, liveness or linearizability), or null. */
  violation: string | null;
  /** The last steps before the end (or the violation). */
  trace: string[];
  /** Client operations recorded. */
  operations: number;
  /** Search steps the linearizability check used (0 when it did not run). */
  linearizabilitySteps: number;
  /** Truncations of entries committed at a later term by a stale leader (Raft allows them; see the checker). */
  staleLeaderTruncations: string[];
  /** The linearizability verdict: 'ok', 'illegal', 'unknown' (over the step budget) or 'skipped'. */
  linearizability: string;
}

const TIMEOUT_MAX = 300;
/** How long after its election a leader counts as catching up (commit-time disruptions). */
const CATCH_UP_MS = 200;

/** Runs one seed: a chaos phase with every fault, then a healing phase that must converge. */
export function runEngineSeed(opts: EngineSimOptions): EngineSimResult {
  const rng = new Prng(opts.seed);
  const voters = rng.int(3, 6);
  const spares = rng.int(1, 3);
  const ids: NodeId[] = [];
  for (let i = 1; i <= voters + spares; i++) ids.push(`n${i}`);
  const config: Partial<EngineConfig> = {
    electionTimeoutMinMs: 150,
    electionTimeoutMaxMs: TIMEOUT_MAX,
    heartbeatIntervalMs: 50,
    leaseMs: 150,
    enablePreVote: rng.chance(0.5),
    maxPayloadEntries: rng.int(1, 8),
    snapshotPolicy: { sinceLast: rng.int(8, 40) },
    maxInSnapshotLogToKeep: rng.int(0, 6),
    purgeBatchSize: rng.int(1, 4),
    checkQuorum: true,
  };
  const net: NetConfig = {
    loss: rng.next() * 0.08,
    dup: rng.next() * 0.05,
    delayMs: rng.int(1, 5),
    jitterMs: rng.int(0, 15),
    stall: rng.next() * 0.06,
    rpcTimeoutMs: 100,
    flushMs: rng.int(0, 12),
  };
  const w = new World(rng.fork(), ids, net, config, opts.engine);
  let linSteps = 0;
  const result = (steps: number, violation: string | null, lin: string): EngineSimResult => ({
    seed: opts.seed,
    steps,
    faults: w.faults,
    violation,
    trace: w.trace.slice(-120),
    operations: w.history.length,
    staleLeaderTruncations: [...w.checker.staleLeaderTruncations],
    linearizabilitySteps: linSteps,
    linearizability: lin,
  });
  let steps = 0;
  let chaos = true;
  const nodes: Record<NodeId, { addr: string }> = {};
  const initial = ids.slice(0, voters);
  const learner = ids[voters]!;
  for (const id of [...initial, learner]) nodes[id] = { addr: `${id}:1` };
  const leaders = () => ids.filter((id) => w.node(id).up && w.node(id).engine.serverState() === 'Leader');
  try {
    w.log(
      `seed ${opts.seed}: voters ${initial.join(',')} learner ${learner} spares ${ids.slice(voters + 1).join(',')} preVote=${config.enablePreVote}`,
    );
    w.onLeader('n1', (e) => e.initialize({ configs: [initial], nodes }, 0));
    const down = new Set<NodeId>();
    const crashFor = (id: NodeId, lo: number, hi: number) => {
      down.add(id);
      w.crash(id);
      w.sched.after(rng.int(lo, hi), `restart ${id}`, () => {
        down.delete(id);
        w.restart(id);
      });
    };
    // Term churn: during a churn phase every new leader is crashed or cut off (alone or with a
    // minority of the voters) within a few ms of its election, so each term leaves its entries on a
    // minority and divergent suffixes pile up; the next leaders must sort them out (Raft §5.4.2,
    // Figure 8). A leader disrupted right after a commit is always cut off alone: a crash would let
    // what it already sent arrive, a cut drops it.
    let churnUntil = -1;
    const churning = () => chaos && w.sched.now < churnUntil;
    const disrupt = (id: NodeId, why: 'churn' | 'after commit') => {
      const n = w.node(id);
      if (!chaos || !n.up || n.engine.serverState() !== 'Leader') return;
      if (down.size < 2 && why === 'churn' && rng.chance(0.4)) {
        w.log(`DISRUPT ${id} (${why}): crash`);
        crashFor(id, 20, 400);
        return;
      }
      // In churn the leader keeps a minority of the voters (learners and spares may come along).
      const voters = new Set(voterIds(n.engine.membership().effective.membership));
      const room = why === 'churn' ? Math.floor(voters.size / 2) - (voters.has(id) ? 1 : 0) : 0;
      const group: NodeId[] = [];
      let taken = 0;
      for (const x of ids) {
        if (x === id || why !== 'churn' || !rng.chance(0.3)) continue;
        if (voters.has(x) && taken >= room) continue;
        if (voters.has(x)) taken++;
        group.push(x);
      }
      w.isolate(id, group, `(${why})`);
    };
    // A new leader is often cut off at the very instant its commit index advances
    // (its first advance of the term, 70%; later ones while it catches followers up, 5%): its
    // followers learn of the commit late or never, and whatever it sent after (the rest of the
    // catch-up, its own term's entries) is lost in flight.
    const reign = new Map<NodeId, { inc: number; at: number; commits: number }>();
    w.onElected = (id) => {
      const inc = w.node(id).inc;
      reign.set(id, { inc, at: w.sched.now, commits: 0 });
      if (!churning()) return;
      w.sched.after(rng.int(0, 40), `churn ${id}`, () => {
        if (w.node(id).inc === inc && churning()) disrupt(id, 'churn');
      });
    };
    w.onLeaderCommit = (id) => {
      const r = reign.get(id);
      if (!chaos || r === undefined || r.inc !== w.node(id).inc) return;
      const first = ++r.commits === 1;
      if (!first && w.sched.now - r.at > CATCH_UP_MS) return;
      const p = first ? 0.7 : 0.05;
      if (!rng.chance(churning() ? Math.min(1, 2 * p) : p)) return;
      reign.delete(id);
      w.sched.after(0, `disrupt ${id}`, () => disrupt(id, 'after commit'));
    };
    const chaosTick = () => {
      if (!chaos) return;
      const r = rng.next();
      const ls = leaders();
      if (r < 0.45) {
        if (ls.length > 0) w.client(rng.pick(ls), rng.int(1, 4));
      } else if (r < 0.55) {
        const a = rng.pick(ids);
        const alone = rng.chance(0.5);
        for (const b of ids) {
          if (b === a || (!alone && !rng.chance(0.5))) continue;
          w.cut.add(`${a}|${b}`);
          w.cut.add(`${b}|${a}`);
        }
        w.faults.partition++;
        w.log(`PARTITION ${a}${alone ? ' alone' : ' partly'}`);
      } else if (r < 0.63) {
        if (rng.chance(0.5)) {
          // One node's links come back; the rest of the partition stays.
          const a = rng.pick(ids);
          for (const b of ids) {
            w.cut.delete(`${a}|${b}`);
            w.cut.delete(`${b}|${a}`);
          }
          w.log(`HEAL ${a}`);
        } else {
          w.cut.clear();
          w.log('HEAL network');
        }
      } else if (r < 0.7) {
        const up = ids.filter((id) => !down.has(id));
        if (down.size < 2 && up.length > 0) {
          // Half the crashes hit a leader: that is where the interesting interleavings are.
          const upLeaders = ls.filter((id) => !down.has(id));
          const id = upLeaders.length > 0 && rng.chance(0.5) ? rng.pick(upLeaders) : rng.pick(up);
          crashFor(id, 30, 600);
        }
      } else if (r < 0.76) {
        if (ls.length > 0) membershipChange(w, rng, rng.pick(ls), ids);
      } else if (r < 0.78) {
        if (ls.length > 0) {
          const l = rng.pick(ls);
          const vs = voterIds(w.node(l).engine.membership().effective.membership).filter((v) => v !== l);
          if (vs.length > 0) {
            const to = rng.pick(vs);
            w.log(`TRANSFER ${l} -> ${to}`);
            w.onLeader(l, (e) => e.transferLeader(to, w.sched.now));
          }
        }
      } else if (r < 0.84) {
        if (!churning()) {
          churnUntil = w.sched.now + rng.int(200, 1500);
          w.faults.churn++;
          w.log(`CHURN until ${churnUntil}`);
        }
      }
      w.sched.after(rng.int(5, 60), 'chaos', chaosTick);
    };
    w.sched.after(50, 'chaos', chaosTick);
    while (steps < opts.steps && w.sched.step() !== null) steps++;

    // Healing: no more faults; a leader must emerge and every member's log must converge.
    chaos = false;
    w.cut.clear();
    w.net = { ...w.net, loss: 0, dup: 0, stall: 0 };
    for (const id of ids) w.restart(id);
    w.log('HEALING');
    const deadline = w.sched.now + 10 * TIMEOUT_MAX;
    let converged = false;
    while (w.sched.now < deadline && w.sched.step() !== null) {
      steps++;
      if (steps % 16 === 0 && isConverged(w, ids)) {
        converged = true;
        break;
      }
    }
    if (!converged) {
      const st = ids
        .map((id) => {
          const e = w.node(id).engine;
          const voters = e
            .membership()
            .effective.membership.configs.map((c) => c.join(','))
            .join(' | ');
          return `${id}:${e.serverState()} v=${e.vote().term} last=${formatLogId(e.lastLogId())} c=${formatLogId(e.committed())} voters=[${voters}] deadline=${e.electionDeadline()}`;
        })
        .join(' ');
      const repl = ids
        .filter((id) => w.node(id).engine.serverState() === 'Leader')
        .map((id) => `${id} replication ${JSON.stringify(w.node(id).engine.replicationMetrics())}`)
        .join('; ');
      w.log(`STATE ${st}; ${repl}`);
      return result(
        steps,
        `liveness: no converged leader within 10 election timeouts of healing: ${st}`,
        'skipped',
      );
    }
    if (opts.checkLinearizability === false) return result(steps, null, 'skipped');
    const lin = checkHistory(w.history, {
      maxSteps: opts.linearizabilityMaxSteps ?? LINEARIZABILITY_MAX_STEPS,
    });
    linSteps = lin.steps;
    if (lin.result === 'illegal')
      return result(steps, `linearizability: ${lin.explanation ?? 'illegal history'}`, 'illegal');
    return result(steps, null, lin.result);
  } catch (err) {
    const e = err as Error;
    return result(steps, `${e.name}: ${e.message}`, 'skipped');
  }
}

function membershipChange(w: World, rng: Prng, leader: NodeId, ids: NodeId[]): void {
  const e = w.node(leader).engine;
  if (e.membershipChangeInProgress()) return;
  const m = e.membership().effective.membership;
  const members = memberIds(m);
  const outsiders = ids.filter((id) => !isMember(m, id));
  w.faults.membership++;
  if (outsiders.length > 0 && rng.chance(0.4)) {
    const id = rng.pick(outsiders);
    w.log(`ADD LEARNER ${id} at ${leader}`);
    w.onLeader(leader, (x) => x.addLearner(id, { addr: `${id}:1` }, w.sched.now));
    return;
  }
  const size = Math.min(members.length, rng.int(3, 6));
  const shuffled = [...members].sort(() => rng.next() - 0.5);
  const voters = shuffled.slice(0, size);
  const retain = rng.chance(0.5);
  w.log(`CHANGE MEMBERSHIP at ${leader} -> {${voters.join(',')}} retain=${retain}`);
  w.onLeader(leader, (x) => x.changeMembership(voters, { retain }, w.sched.now));
}

function isConverged(w: World, ids: NodeId[]): boolean {
  const leaders = ids.filter((id) => w.node(id).up && w.node(id).engine.serverState() === 'Leader');
  if (leaders.length !== 1) return false;
  const l = w.node(leaders[0]!);
  const last = lastOf(l.mem);
  if (l.engine.membershipChangeInProgress() || compareLogId(l.engine.committed(), last) !== 0) return false;
  for (const id of memberIds(l.engine.membership().effective.membership)) {
    const n = w.node(id);
    if (!n.up || compareLogId(lastOf(n.disk), last) !== 0 || compareLogId(n.engine.committed(), last) !== 0)
      return false;
  }
  return true;
}
