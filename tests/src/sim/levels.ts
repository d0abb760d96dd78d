import { importPlanted } from '../planted/patch.ts';
import { type EngineBug, engineBug } from './engine/bugs.ts';
import { runEngineSeed } from './engine/run.ts';
import type { EngineClass } from './engine/world.ts';
import { RUNTIME_BUGS, type RuntimeBug, runRuntimeSeed } from './runtime/run.ts';

/** A simulation level: engines alone, or full `Raft` runtimes on virtual time. */
export type SimLevel = 'engine' | 'runtime';

/** The levels `--level all` (and no `--level`) runs. */
export const ALL_LEVELS: readonly SimLevel[] = ['engine', 'runtime'];

/** A planted bug of either level, by name (engine bugs: `ENGINE_BUGS` in `engine/bugs.ts`). */
export type AnyPlantedBug = string;

/**
 * The `Engine` class with `bug` planted (a patched private copy of `@flotilla/engine`), or the
 * package's own when `bug` is null. Loaded once per bug and process.
 */
export async function loadEngine(bug: EngineBug | null): Promise<EngineClass> {
  const mod = await importPlanted<typeof import('@flotilla/engine')>(bug, 'engine');
  return mod.Engine;
}

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
      const planted = bug === null || isRuntimeBug(bug) ? null : (engineBug(bug) ?? null);
      if (bug !== null && !isRuntimeBug(bug) && planted === null)
        throw new Error(`unknown engine bug ${bug}`);
      const r = runEngineSeed({ seed, steps: opts.steps, engine: await loadEngine(planted) });
      return { level, ...r, faults: { ...r.faults } };
    }
    case 'runtime': {
      const runtimeBug: RuntimeBug | null = bug !== null && isRuntimeBug(bug) ? bug : null;
      const r = await runRuntimeSeed({ seed, steps: opts.steps, bug: runtimeBug });
      return { level, ...r, faults: { ...r.faults } };
    }
  }
}
