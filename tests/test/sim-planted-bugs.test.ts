import { PLANTED_BUGS, type PlantedBug } from '@flotilla/engine';
import { describe, expect, it } from 'vitest';
import { runEngineSeed } from '../src/sim/engine/run.ts';

/** Seeds a planted bug may take to be caught (see the tests README for the measured figures). */
const MAX_SEEDS = 200;

function firstFailingSeed(bug: PlantedBug, maxSeeds: number): { seed: number; violation: string } | null {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = runEngineSeed({ seed, steps: 3000, bug, checkLinearizability: false });
    if (r.violation !== null) return { seed, violation: r.violation };
  }
  return null;
}

describe('the simulator catches planted bugs', () => {
  it('covers every planted bug of the engine', () => {
    expect([...PLANTED_BUGS].sort()).toEqual([
      'appendAckBeforeFlush',
      'commitOldTermByCount',
      'countLeaderBeforeFlush',
      'skipTruncateOnConflict',
      'voteBeforeDurable',
      'voteWithoutLogCheck',
    ]);
  });

  for (const bug of PLANTED_BUGS) {
    it(`finds ${bug} within ${MAX_SEEDS} seeds`, () => {
      const found = firstFailingSeed(bug, MAX_SEEDS);
      expect(found, `${bug} went unnoticed for ${MAX_SEEDS} seeds`).not.toBeNull();
      expect(found!.seed).toBeLessThanOrEqual(MAX_SEEDS);
    }, 120_000);
  }

  it('finds the Figure 8 bug by its consequence: a committed entry lost by a later leader', () => {
    const found = firstFailingSeed('commitOldTermByCount', MAX_SEEDS);
    expect(found?.violation).toMatch(
      /leader completeness|committed entry .* truncated|state machine safety|commits .* was committed/,
    );
  }, 120_000);
});
