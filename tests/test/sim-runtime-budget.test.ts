import { describe, expect, it } from 'vitest';
import { LINEARIZABILITY_STEP_BUDGET, runRuntimeSeed } from '../src/sim/runtime/run.ts';

/**
 * The runtime simulator's linearizability budget is a number of search steps, not a time: a seed's
 * verdict and the steps it took are the same on every run, and a history over the budget is
 * reported `'unknown'` (counted as over budget by `pnpm sim`), never as `'ok'`.
 */
describe('runtime simulator: linearizability budget in steps', () => {
  it('gives the same verdict and step count for a seed every time', async () => {
    const a = await runRuntimeSeed({ seed: 5_200_001, steps: 600 });
    const b = await runRuntimeSeed({ seed: 5_200_001, steps: 600 });
    expect(a.violation).toBeNull();
    expect(a.linearizability).toBe('ok');
    expect(a.linearizabilitySteps).toBeGreaterThan(0);
    expect(a.linearizabilitySteps).toBeLessThan(LINEARIZABILITY_STEP_BUDGET);
    expect(b.linearizabilitySteps).toBe(a.linearizabilitySteps);
  }, 60_000);

  it('reports a history over the budget as unknown', async () => {
    const r = await runRuntimeSeed({ seed: 5_200_001, steps: 600, linearizabilityStepBudget: 1 });
    expect(r.violation).toBeNull();
    expect(r.linearizability).toBe('unknown');
  }, 60_000);
});
