/**
 * Planted-bug runs (`pnpm chaos --verify` and the planted-bug tests): kv's test mode plants a
 * realistic bug in every node, and the harness must catch it. For each bug, a scripted fault
 * schedule exposes it every time (in a short run), and random schedules measure how long detection
 * takes. The bugs live in kv's test code (`apps/kv/test/test-node.ts`); this module only chooses
 * them and the faults.
 */

import { PLANTED_BUGS, type PlantedBug } from './bugs.ts';
import { sleep } from './processes.ts';
import type { ChaosReport } from './report.ts';
import { type ChaosOptions, runChaos, type ScriptContext } from './run.ts';
import type { FaultFamily } from './schedule.ts';

export { PLANTED_BUGS, type PlantedBug };

/** A planted bug with the run settings and the scripted schedule that expose it. */
export interface PlantedScenario {
  readonly bug: PlantedBug;
  /** What the bug is. */
  readonly description: string;
  /** What the harness must report. */
  readonly expect: string;
  /** Run settings for the bug (workload, snapshots), used by the scripted and the random runs. */
  readonly options: Pick<ChaosOptions, 'readAnyNode' | 'snapshotEvery'>;
  /** Fault families of the random `--verify` runs. */
  readonly families: readonly FaultFamily[];
  /** Fault families the scripted schedule uses (they must be available). */
  readonly scriptFamilies: readonly FaultFamily[];
  /** The scripted schedule. */
  readonly script: (s: ScriptContext) => Promise<void>;
}

/** Waits until some operation was acknowledged after `sinceMs` (or `timeoutMs` passed). */
async function ackAfter(s: ScriptContext, sinceMs: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      s.recorder.ops.some((op) => op.kind !== 'read' && op.outcome === 'ok' && (op.completeMs ?? 0) > sinceMs)
    )
      return;
    await sleep(20);
  }
}

/** Every planted bug with its scripted schedule. */
export const PLANTED_SCENARIOS: Readonly<Record<PlantedBug, PlantedScenario>> = {
  'ack-before-commit': {
    bug: 'ack-before-commit',
    description: 'the leader answers a write once the entry is in its own log, before a quorum has it',
    expect: 'acknowledged writes lost',
    options: { readAnyNode: true },
    families: ['kill', 'pause', 'partition'],
    scriptFamilies: ['partition'],
    // The leader is cut off from the other nodes (the clients still reach it) and keeps
    // acknowledging until it steps down; the others elect a leader without those entries, which are
    // truncated from the old leader when the cut heals.
    async script(s) {
      await sleep(1500);
      await s.nemesis.runStep({
        index: s.nemesis.records.length,
        atS: Math.round(s.now() / 100) / 10,
        holdS: 2.5,
        family: 'partition',
        variant: 'isolate-leader',
        pick: 0,
      });
    },
  },
  'follower-local-read': {
    bug: 'follower-local-read',
    description: '/linearizable_read serves whatever a node has applied, on any node',
    expect: 'history NOT linearizable (a stale read)',
    options: { readAnyNode: true },
    families: ['kill', 'pause', 'partition'],
    scriptFamilies: ['partition'],
    // A follower is cut off from the other nodes (the clients still reach it): it learns of no new
    // write, yet answers linearizable reads from its old state while the leader acknowledges writes.
    async script(s) {
      await sleep(1500);
      await s.nemesis.runStep({
        index: s.nemesis.records.length,
        atS: Math.round(s.now() / 100) / 10,
        holdS: 2.5,
        family: 'partition',
        variant: 'isolate-follower',
        pick: 0,
      });
    },
  },
  'skip-fsync': {
    bug: 'skip-fsync',
    description: 'log entries are acknowledged (AppendEntries, the leader’s flush) without an fsync',
    expect: 'acknowledged writes lost',
    // Snapshots (fsynced by the snapshot store) keep the membership across the power loss.
    options: { snapshotEvery: 30 },
    families: ['disk', 'kill'],
    scriptFamilies: ['disk'],
    // Once every node has a snapshot, a power loss of the leader and a follower right after an ack,
    // the third node paused until they have a leader again: their unsynced entries are gone, and
    // the entries they acknowledged with them.
    async script(s) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const ms = [...s.monitor.latest.values()];
        if (ms.length >= 3 && ms.every((m) => m.snapshot !== null)) break;
        if (Date.now() > deadline) break;
        await sleep(200);
      }
      await s.nemesis.scripted('disk', 'power-loss-majority', async (rec) => {
        await ackAfter(s, s.now());
        await s.nemesis.powerLossMajority(0, rec, 8000);
      });
    },
  },
};

/** The result of one planted-bug run. */
export interface PlantedResult {
  readonly bug: PlantedBug;
  readonly seed: number;
  /** Whether the harness failed the run (it must). */
  readonly detected: boolean;
  /** Why the run failed. */
  readonly reasons: readonly string[];
  /** The fault(s) injected, described. */
  readonly faults: string;
  /**
   * Seconds from the start of the workload and faults (of the first run) to the failing verdict:
   * the processes' start-up is left out, earlier passing runs are counted whole.
   */
  readonly secondsToDetection: number | null;
  /** Runs made (random schedules: until detected or out of budget). */
  readonly runs: number;
  readonly report: ChaosReport;
}

function describeFaults(r: ChaosReport): string {
  return r.faults.steps
    .filter((f) => f.status === 'injected')
    .map(
      (f) =>
        `${f.family} ${f.variant} on [${f.targets.join(', ')}]${f.detail === undefined ? '' : ` (${f.detail})`}`,
    )
    .join('; ');
}

/** Runs `bug` under its scripted schedule (3 nodes). */
export async function runScripted(
  bug: PlantedBug,
  o: {
    seed?: number;
    durationS?: number;
    dir?: string;
    log?: (line: string) => void;
    /** `false`: the same run without the bug (a control: it must pass). */
    plant?: boolean;
  } = {},
): Promise<PlantedResult> {
  const sc = PLANTED_SCENARIOS[bug];
  const started = performance.now();
  const report = await runChaos({
    seed: o.seed ?? 1,
    durationS: o.durationS ?? 4,
    nodes: 3,
    families: sc.scriptFamilies,
    ...(o.plant === false ? {} : { plantBug: bug }),
    // A planted bug may leave diverged state machines that never converge: do not wait long.
    convergeTimeoutMs: 2000,
    script: sc.script,
    ...sc.options,
    ...(o.dir === undefined ? {} : { dir: o.dir }),
    ...(o.log === undefined ? {} : { log: o.log }),
  });
  return {
    bug,
    seed: report.seed,
    detected: !report.pass,
    reasons: report.reasons,
    faults: describeFaults(report),
    secondsToDetection: report.pass
      ? null
      : Math.round(((performance.now() - started) / 1000 - report.workloadStartS) * 10) / 10,
    runs: 1,
    report,
  };
}

/**
 * Runs `bug` under random schedules (seeds `seed`, `seed + 1`, …) of `durationS` each until a run
 * fails or `budgetS` is spent; reports the time to detection from the start of the first run.
 */
export async function runRandom(
  bug: PlantedBug,
  o: { seed: number; durationS: number; budgetS: number; dir?: string; log?: (line: string) => void },
): Promise<PlantedResult> {
  const sc = PLANTED_SCENARIOS[bug];
  const started = performance.now();
  let firstStartupS: number | undefined;
  let runs = 0;
  for (;;) {
    const seed = o.seed + runs;
    runs++;
    const report = await runChaos({
      seed,
      durationS: o.durationS,
      nodes: 3,
      families: sc.families,
      plantBug: bug,
      convergeTimeoutMs: 2000,
      ...sc.options,
      ...(o.dir === undefined ? {} : { dir: `${o.dir}/${bug}-${seed}` }),
      ...(o.log === undefined ? {} : { log: o.log }),
    });
    const elapsed = (performance.now() - started) / 1000;
    firstStartupS ??= report.workloadStartS;
    if (!report.pass || elapsed + o.durationS > o.budgetS) {
      return {
        bug,
        seed,
        detected: !report.pass,
        reasons: report.reasons,
        faults: describeFaults(report),
        secondsToDetection: report.pass ? null : Math.round((elapsed - firstStartupS) * 10) / 10,
        runs,
        report,
      };
    }
  }
}
