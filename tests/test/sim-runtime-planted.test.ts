import { describe, expect, it } from 'vitest';
import { type RuntimeBug, runRuntimeSeed } from '../src/sim/runtime/run.ts';

/**
 * The runtime-level simulator must catch planted runtime bugs within 200 seeds. Short runs, no
 * linearizability check unless the bug needs it, stop at the first violation.
 */
const STEPS = 600;

async function firstFailingSeed(
  bug: RuntimeBug,
  maxSeeds: number,
  checkLinearizability: boolean,
): Promise<{ seed: number; violation: string } | null> {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = await runRuntimeSeed({ seed, steps: STEPS, bug, checkLinearizability });
    if (r.violation !== null) return { seed, violation: r.violation };
  }
  return null;
}

describe('the runtime simulator catches planted bugs', () => {
  it('finds "a heartbeat queued behind a large append" within 200 seeds, and the control run passes', async () => {
    const found = await firstFailingSeed('heartbeatBehindAppend', 200, false);
    expect(found, 'heartbeatBehindAppend went unnoticed for 200 seeds').not.toBeNull();
    expect(found!.seed).toBeLessThanOrEqual(200);
    // Followers starve for contact: leadership keeps changing after healing, or a broken lease.
    expect(found!.violation).toMatch(/leader churn|election safety|linearizability/);
    // Control: the same slow large appends with heartbeats on their own lane never churn leaders and
    // break nothing. (A lagging learner may not catch up within the deadline over such slow links:
    // 'no convergence' is tolerated here, and reported.)
    for (let seed = 1; seed <= Math.max(found!.seed, 5); seed++) {
      const r = await runRuntimeSeed({
        seed,
        steps: STEPS,
        slowLargeAppends: true,
        checkLinearizability: false,
      });
      if (r.violation !== null)
        expect(r.violation, `control seed ${seed}`).toMatch(/^liveness \(no convergence\)/);
    }
  }, 120_000);
});
