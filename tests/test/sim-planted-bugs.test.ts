import type { PlantedBug } from '@flotilla/engine';
import { describe, expect, it } from 'vitest';
import { runEngineSeed } from '../src/sim/engine/run.ts';

/** The planted bugs the simulator must find within 200 seeds (see the tests README for figures). */
const MUST_CATCH: PlantedBug[] = [
  'voteWithoutLogCheck',
  'voteBeforeDurable',
  'appendAckBeforeFlush',
  'skipTruncateOnConflict',
  'countLeaderBeforeFlush',
];

function firstFailingSeed(bug: PlantedBug, maxSeeds: number): { seed: number; violation: string } | null {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = runEngineSeed({ seed, steps: 3000, bug, checkLinearizability: false });
    if (r.violation !== null) return { seed, violation: r.violation };
  }
  return null;
}

describe('the simulator catches planted bugs', () => {
  for (const bug of MUST_CATCH) {
    it(`finds ${bug} within 200 seeds`, () => {
      const found = firstFailingSeed(bug, 200);
      expect(found, `${bug} went unnoticed for 200 seeds`).not.toBeNull();
      expect(found!.seed).toBeLessThanOrEqual(200);
    }, 120_000);
  }
});
