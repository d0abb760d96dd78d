import { describe, expect, it } from 'vitest';
import { runRuntimeSeed } from '../src/sim/runtime/run.ts';

/**
 * The runtime-level simulator over a range of seeds: real `Raft` nodes on virtual time with every
 * fault, invariants after every step, a healing phase that must converge, and the client history
 * checked for linearizability. Any violation prints its seed and trace (replay:
 * `pnpm sim --level runtime --seeds 1 --from <seed> --steps 1500`).
 */
const SEEDS = 60;
const STEPS = 1500;

describe('runtime-level simulation', () => {
  it(`keeps every invariant and converges on ${SEEDS} seeds`, async () => {
    let ops = 0;
    let steps = 0;
    const faults: Record<string, number> = {};
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runRuntimeSeed({ seed, steps: STEPS });
      expect(r.violation, `seed ${seed}: ${r.violation}\n${r.trace.slice(-40).join('\n')}`).toBeNull();
      expect(r.linearizability).not.toBe('illegal');
      ops += r.operations;
      steps += r.steps;
      for (const [k, v] of Object.entries(r.faults)) faults[k] = (faults[k] ?? 0) + v;
    }
    // The runs did something: clients got through, and every kind of fault was injected.
    expect(ops).toBeGreaterThan(SEEDS * 20);
    expect(steps).toBeGreaterThanOrEqual(SEEDS * STEPS);
    for (const kind of [
      'crash',
      'pause',
      'partition',
      'loss',
      'delay',
      'dup',
      'membership',
      'snapshot',
      'purge',
      'leaseProbe',
    ])
      expect(faults[kind], kind).toBeGreaterThan(0);
  }, 120_000);

  it('elects and converges with a narrow election timeout range (150–160 ms: split votes are likely)', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = await runRuntimeSeed({
        seed,
        steps: 1500,
        checkLinearizability: false,
        config: { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 160 },
      });
      expect(r.violation, `seed ${seed}: ${r.violation}`).toBeNull();
    }
  }, 60_000);

  it('elects and converges with every clock at the ±10% edges and a 150–170 ms election range (200 seeds)', async () => {
    // A node with a stale log and a fast clock once kept the up-to-date ones from campaigning here.
    const failed: string[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const r = await runRuntimeSeed({ seed, steps: 2000, leaseStress: true, checkLinearizability: false });
      if (r.violation !== null) failed.push(`seed ${seed}: ${r.violation.slice(0, 300)}`);
    }
    expect(failed).toEqual([]);
  }, 120_000);

  it('replays a seed exactly', async () => {
    const a = await runRuntimeSeed({ seed: 7, steps: 600 });
    const b = await runRuntimeSeed({ seed: 7, steps: 600 });
    expect(b.steps).toBe(a.steps);
    expect(b.virtualMs).toBe(a.virtualMs);
    expect(b.operations).toBe(a.operations);
    expect(b.faults).toEqual(a.faults);
    expect(b.trace).toEqual(a.trace);
  }, 60_000);
});
