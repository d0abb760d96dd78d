/**
 * Runs the fault schedule against the cluster: resolves each step's targets when it is due (the
 * leader, a follower, a minority), injects the fault, holds it, heals it, and records what
 * happened. A step of a family kv cannot support yet is recorded as skipped with the reason. A cut
 * that does not take effect is a harness error that voids the run. Never judges correctness: that is
 * the verdict's business.
 */
import { httpCall, isObject } from './http.ts';
import { fetchMetrics, type Monitor } from './monitor.ts';
import { type Cut, CutNotEffectiveError, type Cuts } from './netns.ts';
import type { KvProcesses } from './processes.ts';
import { sleep } from './processes.ts';
import type { FaultFamily, FaultStep } from './schedule.ts';

/** What happened to one step. */
export interface FaultRecord {
  readonly index: number;
  readonly family: FaultFamily;
  readonly variant: string;
  readonly atS: number;
  holdS: number;
  /** `injected`: the fault happened; `skipped`: unavailable; `failed`: it could not be carried out. */
  status: 'injected' | 'skipped' | 'failed';
  /** Node ids it hit. */
  targets: number[];
  /** Details: the cuts, the membership change, why it was skipped or failed. */
  detail?: string;
  /** When it was injected and healed, ms since the run started. */
  startMs?: number;
  healedMs?: number;
}

/** Options of {@link Nemesis}. */
export interface NemesisOptions {
  readonly procs: KvProcesses;
  readonly monitor: Monitor;
  readonly schedule: readonly FaultStep[];
  /** Family → why it is unavailable (absent: available). */
  readonly unavailable: Partial<Record<FaultFamily, string>>;
  /** The cut machinery (when partitions are available). */
  readonly cuts?: Cuts;
  /** ms since the run started. */
  readonly now: () => number;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

/** The fault injector. */
export class Nemesis {
  readonly #o: NemesisOptions;
  readonly records: FaultRecord[] = [];
  /** Harness errors (a cut or heal that did not take effect): they void the run. */
  readonly harnessErrors: string[] = [];
  /** When the last fault was healed (ms since start). */
  lastHealMs: number | undefined;

  constructor(o: NemesisOptions) {
    this.#o = o;
  }

  /** Runs the schedule until it ends or `signal` aborts; then heals everything. */
  async run(signal: AbortSignal): Promise<void> {
    for (const step of this.#o.schedule) {
      const wait = step.atS * 1000 - this.#o.now();
      if (wait > 0) await abortableSleep(wait, signal);
      if (signal.aborted) break;
      await this.runStep(step, signal);
    }
  }

  /** Runs one step now (injects, holds, heals) and records it. */
  async runStep(step: FaultStep, signal: AbortSignal = new AbortController().signal): Promise<void> {
    {
      const rec: FaultRecord = {
        index: step.index,
        family: step.family,
        variant: step.variant,
        atS: step.atS,
        holdS: step.holdS,
        status: 'injected',
        targets: [],
      };
      this.records.push(rec);
      const why = this.#o.unavailable[step.family];
      if (why !== undefined) {
        rec.status = 'skipped';
        rec.detail = why;
        this.#o.log(`fault #${step.index} ${step.family} ${step.variant}: skipped (unavailable)`);
        return;
      }
      try {
        await this.#execute(step, rec, signal);
      } catch (e) {
        rec.status = 'failed';
        rec.detail = `${rec.detail ?? ''}${rec.detail === undefined ? '' : '; '}${e instanceof Error ? e.message : String(e)}`;
        if (e instanceof CutNotEffectiveError) this.harnessErrors.push(e.message);
        await this.healAll().catch((h: unknown) => this.harnessErrors.push(String(h)));
      }
      this.#o.log(
        `fault #${step.index} ${step.family} ${step.variant} on [${rec.targets.join(', ')}]: ${rec.status}` +
          (rec.detail === undefined ? '' : ` (${rec.detail})`),
      );
    }
  }

  /** Heals everything: resumes paused nodes, removes cuts, restarts killed nodes. */
  async healAll(): Promise<void> {
    const { procs, cuts } = this.#o;
    for (const n of procs.inState('paused')) await procs.signal(n.id, 'SIGCONT');
    if (cuts !== undefined) await this.#healCuts();
    await Promise.all(procs.inState('killed').map((n) => procs.start(n.id)));
    this.lastHealMs = this.#o.now();
  }

  async #healCuts(): Promise<void> {
    const { procs, cuts } = this.#o;
    if (cuts === undefined) return;
    const byHost = new Map([...procs.nodes.values()].map((n) => [n.host, n]));
    await cuts.healAll(
      (h) => byHost.get(h)?.port ?? 0,
      (h) => byHost.get(h)?.state === 'running',
    );
  }

  async #leaderId(): Promise<number | undefined> {
    return (await this.#o.monitor.leader(5000))?.id;
  }

  /** Running members other than the leader (the leader itself when alone). */
  async #target(variant: string, pick: number): Promise<number> {
    const running = this.#o.procs.inState('running').map((n) => n.id);
    const leader = await this.#leaderId();
    if (variant === 'leader' && leader !== undefined) return leader;
    const followers = running.filter((id) => id !== leader);
    const pool = followers.length > 0 ? followers : running;
    const id = pool[pick % pool.length];
    if (id === undefined) throw new Error('no running node to target');
    return id;
  }

  async #execute(step: FaultStep, rec: FaultRecord, signal: AbortSignal): Promise<void> {
    const { procs, now } = this.#o;
    const hold = (): Promise<void> => abortableSleep(step.holdS * 1000, signal);
    switch (step.family) {
      case 'kill': {
        const id = await this.#target(step.variant, step.pick);
        rec.targets = [id];
        rec.startMs = now();
        await procs.signal(id, 'SIGKILL');
        await hold();
        await procs.start(id);
        rec.healedMs = now();
        break;
      }
      case 'pause': {
        const id = await this.#target(step.variant, step.pick);
        rec.targets = [id];
        rec.startMs = now();
        await procs.signal(id, 'SIGSTOP');
        await hold();
        await procs.signal(id, 'SIGCONT');
        rec.healedMs = now();
        break;
      }
      case 'partition': {
        const cuts = this.#o.cuts;
        if (cuts === undefined) throw new Error('no cut machinery');
        const members = procs.inState('running');
        const leader = await this.#leaderId();
        const list: Cut[] = [];
        const both = (a: string, b: string) => list.push({ from: a, to: b }, { from: b, to: a });
        if (step.variant === 'one-way') {
          const from = members[step.pick % members.length];
          const others = members.filter((m) => m !== from);
          const to = others[Math.floor(step.pick / 7) % others.length];
          if (from === undefined || to === undefined) throw new Error('one-way cut needs two nodes');
          rec.targets = [from.id, to.id];
          list.push({ from: from.host, to: to.host });
        } else {
          let minority: typeof members;
          if (step.variant === 'isolate-leader' && leader !== undefined) {
            minority = members.filter((m) => m.id === leader);
          } else if (step.variant === 'isolate-follower') {
            // (scripted runs only) one follower, chosen by `pick`, cut off from everyone.
            const followers = members.filter((m) => m.id !== leader);
            minority = followers.slice(step.pick % Math.max(1, followers.length)).slice(0, 1);
          } else {
            const size = Math.max(1, Math.floor((members.length - 1) / 2));
            const rotated = members.map(
              (_, i) => members[(i + step.pick) % members.length] as (typeof members)[0],
            );
            minority = rotated.slice(0, size);
          }
          const majority = members.filter((m) => !minority.includes(m));
          for (const a of minority) for (const b of majority) both(a.host, b.host);
          rec.targets = minority.map((m) => m.id);
        }
        rec.detail = list.map((c) => `${c.from}→${c.to}`).join(' ');
        rec.startMs = now();
        const portOf = (h: string) => [...procs.nodes.values()].find((n) => n.host === h)?.port ?? 0;
        await cuts.cut(list, portOf);
        await hold();
        await this.#healCuts();
        rec.healedMs = now();
        break;
      }
      case 'membership':
        await this.#replaceVoter(step, rec);
        break;
      case 'disk':
        await this.#disk(step, rec, hold);
        break;
    }
  }

  /** Adds a fresh node as learner, promotes it and removes a follower voter. */
  async #replaceVoter(step: FaultStep, rec: FaultRecord): Promise<void> {
    const { procs, now, monitor } = this.#o;
    const leader = await monitor.leader(5000);
    if (leader === undefined) throw new Error('no leader');
    const voters = leader.voters;
    const followers = voters.filter((v) => v !== leader.id && procs.nodes.get(v)?.state === 'running');
    const victim = followers[step.pick % Math.max(1, followers.length)];
    if (victim === undefined) throw new Error('no running follower voter to replace');
    const newId = Math.max(...procs.nodes.keys()) + 1;
    rec.targets = [victim, newId];
    rec.startMs = now();
    const fresh = await procs.add(newId);
    await procs.start(newId);
    const leaderAddr = procs.get(leader.id).addr;
    const added = await httpCall(leaderAddr, '/add-learner', [newId, fresh.addr], 60_000);
    if (!(added.type === 'reply' && isObject(added.body) && 'Ok' in added.body)) {
      throw new Error(
        `add-learner ${newId} failed: ${JSON.stringify(added.type === 'reply' ? added.body : added.message)}`,
      );
    }
    const next = [...voters.filter((v) => v !== victim), newId];
    const changed = await httpCall(leaderAddr, '/change-membership', next, 30_000);
    if (!(changed.type === 'reply' && isObject(changed.body) && 'Ok' in changed.body)) {
      throw new Error(
        `change-membership ${JSON.stringify(next)} failed: ${JSON.stringify(changed.type === 'reply' ? changed.body : changed.message)}`,
      );
    }
    rec.detail = `voters ${JSON.stringify(voters)} → ${JSON.stringify(next)}`;
    await procs.signal(victim, 'SIGTERM');
    procs.get(victim).state = 'removed';
    rec.healedMs = now();
  }

  /**
   * Disk faults, through kv's test routes (README, "kv changes this harness needs"): a power loss
   * drops the node's unsynced writes and ends the process, which is then restarted; a failed fsync
   * must stop the node (it must not keep serving), which is then restarted. `power-loss-majority`
   * pauses a minority, cuts the power of the majority (the leader among them), restarts it and
   * resumes the minority once the majority has elected a leader.
   */
  async #disk(step: FaultStep, rec: FaultRecord, hold: () => Promise<void>): Promise<void> {
    const { procs, now } = this.#o;
    if (step.variant === 'power-loss-majority') {
      await this.powerLossMajority(step.pick, rec, step.holdS * 1000);
      return;
    }
    const id = await this.#target('follower', step.pick);
    rec.targets = [id];
    rec.startMs = now();
    if (step.variant === 'power-loss') await this.powerLoss(id);
    else await this.#failFsync(id);
    await hold();
    await procs.start(id);
    rec.healedMs = now();
  }

  /** Cuts node `id`'s power (`POST /test/power-loss`): its unsynced writes are dropped, the process ends. */
  async powerLoss(id: number): Promise<void> {
    const n = this.#o.procs.get(id);
    const r = await httpCall(n.addr, '/test/power-loss', {}, 5000);
    if (r.type === 'reply' && r.status >= 400)
      throw new Error(`power loss refused: ${JSON.stringify(r.body)}`);
    const deadline = Date.now() + 10_000;
    while (n.proc !== undefined) {
      if (Date.now() > deadline) throw new Error(`node ${id} kept running after its power loss`);
      await sleep(20);
    }
    n.state = 'killed';
  }

  /** Makes node `id`'s next fsync fail; it must stop serving; then it is killed (restarted later). */
  async #failFsync(id: number): Promise<void> {
    const { procs } = this.#o;
    const n = procs.get(id);
    const r = await httpCall(n.addr, '/test/fail-fsync', {}, 5000);
    if (r.type === 'reply' && r.status >= 400)
      throw new Error(`fail-fsync refused: ${JSON.stringify(r.body)}`);
    // The node must stop serving: its process ends, or its /health answers 503 (stopped).
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (n.proc === undefined) break;
      const h = await httpCall(n.addr, '/health', undefined, 1000);
      if (h.type === 'reply' && h.status === 503) break;
      if (Date.now() > deadline) throw new Error(`node ${id} kept serving after a failed fsync`);
      await sleep(100);
    }
    await procs.signal(id, 'SIGKILL');
    n.state = 'killed';
  }

  /**
   * Power loss of a majority that includes the leader, the rest paused meanwhile: the majority is
   * restarted and, once it has a leader (at most `maxPauseMs`), the minority resumes. With correct
   * fsyncs nothing acknowledged can be lost: a committed entry is durable on some node of every
   * majority, and that node wins.
   */
  async powerLossMajority(pick: number, rec: FaultRecord, maxPauseMs: number): Promise<void> {
    const { procs, now, monitor } = this.#o;
    const leader = await monitor.leader(5000);
    if (leader === undefined) throw new Error('no leader');
    const voters = leader.voters.filter((v) => procs.nodes.get(v)?.state === 'running');
    const size = Math.floor(leader.voters.length / 2) + 1;
    const others = voters.filter((v) => v !== leader.id);
    const rotated = others.map((_, i) => others[(i + pick) % others.length] as number);
    const victims = [leader.id, ...rotated.slice(0, size - 1)];
    const paused = voters.filter((v) => !victims.includes(v));
    rec.targets = victims;
    rec.detail = `power loss of [${victims.join(', ')}], paused [${paused.join(', ')}]`;
    rec.startMs = now();
    for (const id of paused) await procs.signal(id, 'SIGSTOP');
    await Promise.all(victims.map((id) => this.powerLoss(id)));
    await Promise.all(victims.map((id) => procs.start(id)));
    const deadline = Date.now() + maxPauseMs;
    while (Date.now() < deadline) {
      const ms = await Promise.all(victims.map((id) => fetchMetrics(procs.get(id).addr, 500)));
      if (ms.some((m) => m?.state === 'Leader')) break;
      await sleep(100);
    }
    for (const id of paused) await procs.signal(id, 'SIGCONT');
    rec.healedMs = now();
  }

  /**
   * Runs one scripted fault (planted-bug schedules): records it like a scheduled step, with `fn`
   * filling in targets and details.
   */
  async scripted(
    family: FaultFamily,
    variant: string,
    fn: (rec: FaultRecord) => Promise<void>,
  ): Promise<void> {
    const rec: FaultRecord = {
      index: this.records.length,
      family,
      variant,
      atS: Math.round(this.#o.now() / 100) / 10,
      holdS: 0,
      status: 'injected',
      targets: [],
    };
    this.records.push(rec);
    try {
      await fn(rec);
      if (rec.startMs !== undefined && rec.healedMs !== undefined) {
        rec.holdS = Math.round((rec.healedMs - rec.startMs) / 100) / 10;
      }
    } catch (e) {
      rec.status = 'failed';
      rec.detail = `${rec.detail ?? ''}${rec.detail === undefined ? '' : '; '}${e instanceof Error ? e.message : String(e)}`;
    }
    this.#o.log(
      `fault #${rec.index} ${family} ${variant} on [${rec.targets.join(', ')}]: ${rec.status}` +
        (rec.detail === undefined ? '' : ` (${rec.detail})`),
    );
  }
}

/** Sleeps `ms`, returning early when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
