import type { PlantedBug } from '@flotilla/engine';
import { runEngineSeed } from './engine/run.ts';
import type { FaultCounts } from './engine/world.ts';

/** A simulation level: engines alone today; a runtime-level simulator plugs in here later. */
export type SimLevel = 'engine';

/** The levels `--level all` runs. */
export const ALL_LEVELS: readonly SimLevel[] = ['engine'];

/** The result of one seed at one level. */
export interface SeedResult {
  level: SimLevel;
  seed: number;
  steps: number;
  faults: FaultCounts;
  violation: string | null;
  trace: string[];
  operations: number;
  linearizability: string;
}

/** Runs one seed at `level`. */
export function runSeed(
  level: SimLevel,
  seed: number,
  opts: { steps: number; bug?: PlantedBug | null },
): SeedResult {
  switch (level) {
    case 'engine':
      return { level, ...runEngineSeed({ seed, steps: opts.steps, bug: opts.bug ?? null }) };
  }
}
