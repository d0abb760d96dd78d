import { Engine } from '@flotilla/engine';
import { describe, expect, it } from 'vitest';
import { runEngineSeed } from '../src/sim/engine/run.ts';

describe('engine-level deterministic simulation', () => {
  it('runs 200 seeds with every fault and finds no violation', () => {
    const failures: string[] = [];
    let steps = 0;
    let faults = 0;
    let ops = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const r = runEngineSeed({ engine: Engine, seed, steps: 3000 });
      steps += r.steps;
      ops += r.operations;
      faults += Object.values(r.faults).reduce((a, b) => a + b, 0);
      if (r.violation !== null)
        failures.push(`seed ${seed}: ${r.violation}\n${r.trace.slice(-30).join('\n')}`);
      else expect(r.linearizability === 'ok' || r.linearizability === 'unknown').toBe(true);
    }
    expect(failures).toEqual([]);
    // The runs did real work: many steps, faults of every kind, client operations.
    expect(steps).toBeGreaterThan(200 * 3000);
    expect(faults).toBeGreaterThan(1000);
    expect(ops).toBeGreaterThan(1000);
  }, 120_000);

  it('replays a seed exactly', () => {
    const a = runEngineSeed({ engine: Engine, seed: 42, steps: 1500 });
    const b = runEngineSeed({ engine: Engine, seed: 42, steps: 1500 });
    expect(b.steps).toBe(a.steps);
    expect(b.faults).toEqual(a.faults);
    expect(b.trace).toEqual(a.trace);
  });
});
