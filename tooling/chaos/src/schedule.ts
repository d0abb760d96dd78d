/**
 * The fault schedule: a pure function of (seed, duration, fault families). It decides what happens
 * and when; which node a step hits ("the leader", "a follower") is resolved when the step runs, from
 * the step's `pick` number, because who leads depends on real timing. Never performs I/O.
 */
import { Rng } from './rng.ts';

/** Fault families, each with its variants. */
export const FAULT_VARIANTS = {
  /** `kill -9` of a node, then a restart on the same data dir after `holdS`. */
  kill: ['leader', 'follower'],
  /** SIGSTOP of a node, SIGCONT after `holdS` (a stalled node that wakes up). */
  pause: ['leader', 'follower'],
  /**
   * iptables cuts inside the private network namespace, healed after `holdS`:
   * a random minority cut off from the majority; the leader cut off from everyone; one node's
   * packets to another dropped one way.
   */
  partition: ['majority-minority', 'isolate-leader', 'one-way'],
  /** Add a fresh node as learner, promote it, remove a follower voter (voter count unchanged). */
  membership: ['replace-voter'],
  /**
   * Lose unsynced writes on a simulated power loss of a follower; the same on a majority at once
   * (the other nodes paused until the majority has a leader again: only durable data may decide);
   * fail an fsync (the node must stop).
   */
  disk: ['power-loss', 'power-loss-majority', 'fsync-failure'],
} as const;

/** A fault family. */
export type FaultFamily = keyof typeof FAULT_VARIANTS;

/** Every fault family, in a fixed order. */
export const FAULT_FAMILIES: readonly FaultFamily[] = Object.keys(FAULT_VARIANTS) as FaultFamily[];

/** One scheduled fault. */
export interface FaultStep {
  /** Position in the schedule (0-based). */
  readonly index: number;
  /** Seconds after the workload started when the step is due (a late previous step delays it). */
  readonly atS: number;
  /** How long the fault holds before it is healed, in seconds. */
  readonly holdS: number;
  /** The family. */
  readonly family: FaultFamily;
  /** The variant within the family (see {@link FAULT_VARIANTS}). */
  readonly variant: string;
  /** A seeded number that chooses among candidate nodes when the step runs (`pick % candidates`). */
  readonly pick: number;
}

/** Parameters of {@link generateSchedule}. */
export interface ScheduleParams {
  /** The seed. */
  readonly seed: number;
  /** Seconds of workload; faults fill `[warmupS, durationS - cooldownS]`. */
  readonly durationS: number;
  /** Families to draw from (default: all). Each appears once before any appears twice. */
  readonly families?: readonly FaultFamily[];
  /** Calm seconds at the start (default 3). */
  readonly warmupS?: number;
  /** Calm seconds before the end (default 3). */
  readonly cooldownS?: number;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * Generates the fault schedule: rounds of the enabled families in a seeded order (so every family
 * appears once per round), each with a seeded variant, hold (2–5 s) and gap after healing (1–3 s).
 * The same parameters always give the same schedule.
 */
export function generateSchedule(p: ScheduleParams): FaultStep[] {
  const families = p.families ?? FAULT_FAMILIES;
  if (families.length === 0) return [];
  const rng = Rng.derive(p.seed, 'schedule');
  const warmup = p.warmupS ?? 3;
  const end = p.durationS - (p.cooldownS ?? 3);
  const steps: FaultStep[] = [];
  let round: FaultFamily[] = [];
  let t = warmup;
  for (;;) {
    if (round.length === 0) round = rng.shuffle(families);
    const family = round.shift() as FaultFamily;
    const variant = rng.pick(FAULT_VARIANTS[family]);
    const holdS = round1(rng.between(2, 5));
    const gapS = round1(rng.between(1, 3));
    const pick = rng.int(1 << 30);
    if (t + holdS > end) break;
    steps.push({ index: steps.length, atS: round1(t), holdS, family, variant, pick });
    t += holdS + gapS;
  }
  return steps;
}

/** One line per step, for reports and failure output: `#3 at 12.4 s: pause leader for 3.1 s`. */
export function describeSchedule(steps: readonly FaultStep[]): string[] {
  return steps.map((s) => `#${s.index} at ${s.atS} s: ${s.family} ${s.variant} for ${s.holdS} s`);
}

/** Parses a `--faults kill,pause` list; throws `RangeError` naming an unknown family. */
export function parseFamilies(text: string): FaultFamily[] {
  const out: FaultFamily[] = [];
  for (const raw of text.split(',')) {
    const f = raw.trim();
    if (f === '') continue;
    if (!(FAULT_FAMILIES as readonly string[]).includes(f)) {
      throw new RangeError(`unknown fault family "${f}" (expected ${FAULT_FAMILIES.join(', ')})`);
    }
    if (!out.includes(f as FaultFamily)) out.push(f as FaultFamily);
  }
  return out;
}
