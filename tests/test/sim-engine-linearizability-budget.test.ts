import { Engine } from '@flotilla/engine';
import { describe, expect, it } from 'vitest';
import { runEngineSeed } from '../src/sim/engine/run.ts';
import { LINEARIZABILITY_MAX_STEPS } from '../src/sim/history.ts';

describe('the engine simulator’s linearizability budget is a step count', () => {
  it('a history over the budget is unknown, after exactly the budget, on every run (never machine-dependent)', () => {
    const run = (maxSteps: number) =>
      runEngineSeed({ engine: Engine, seed: 501, steps: 1500, linearizabilityMaxSteps: maxSteps });
    const full = run(LINEARIZABILITY_MAX_STEPS);
    expect(full.linearizability).toBe('ok');
    expect(full.linearizabilitySteps).toBeGreaterThan(3);
    const a = run(3);
    const b = run(3);
    expect(a.linearizability).toBe('unknown');
    expect(a.linearizabilitySteps).toBe(4); // the step that crossed the budget
    expect(b).toEqual(a);
  });
});
