import type { PlantedBug } from '@flotilla/engine';
import { runEngineSeed } from './engine/run.ts';
import { RUNTIME_BUGS, type RuntimeBug, runRuntimeSeed } from './runtime/run.ts';

/** A simulation level: engines alone, or full `Raft` runtimes on virtual time. */
export type SimLevel = 'engine' | 'runtime';

/** The levels `--level all` (and no `--level`) runs. */
export const ALL_LEVELS: readonly SimLevel[] = ['engine', 'runtime'];

/** A planted bug of either level. */
export type AnyPlantedBug = PlantedBug | RuntimeBug;

/** Whether `bug` is a runtime-level planted bug. */
export function isRuntimeBug(bug: string): bug is RuntimeBug {
  return (RUNTIME_BUGS as readonly string[]).includes(bug);
}

/** The result of one seed at one level. */
export interface SeedResult {
  level: SimLevel;
  seed: number;
  steps: number;
  /** Faults injected, by kind (each level has its own kinds). */
  faults: Record<string, number>;
  violation: string | null;
  trace: string[];
  operations: number;
  linearizability: string;
  /** Search steps the linearizability checker used (runtime level; the engine level does not say). */
  linearizabilitySteps?: number;
}

/** Runs one seed at `level` (a bug of the other level is ignored). */
export async function runSeed(
  level: SimLevel,
  seed: number,
  opts: { steps: number; bug?: AnyPlantedBug | null },
): Promise<SeedResult> {
  const bug = opts.bug ?? null;
  switch (level) {
    case 'engine': {
      const engineBug = bug === null || isRuntimeBug(bug) ? null : bug;
      const r = runEngineSeed({ seed, steps: opts.steps, bug: engineBug });
      return { level, ...r, faults: { ...r.faults } };
    }
    case 'runtime': {
      const runtimeBug = bug !== null && isRuntimeBug(bug) ? bug : null;
      const r = await runRuntimeSeed({ seed, steps: opts.steps, bug: runtimeBug });
      return { level, ...r, faults: { ...r.faults } };
    }
  }
}
