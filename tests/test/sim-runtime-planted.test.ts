import { describe, expect, it } from 'vitest';
import { PatchDidNotApplyError } from '../src/planted/patch.ts';
import { plantedBugOf, raftModule } from '../src/sim/runtime/bugs.ts';
import { type RuntimeBug, type RuntimeSimOptions, runRuntimeSeed } from '../src/sim/runtime/run.ts';

/**
 * The runtime-level simulator must catch every planted runtime bug within 200 seeds. A bug is a
 * source patch of a private copy of `@flotilla/raft`/`@flotilla/replication` (`bugs.ts`; no switch in
 * any published file); a patch that no longer applies fails its test. Short runs, no
 * linearizability check unless the bug needs it (the invariants catch the others first), stop at
 * the first violation, which must be the bug's own symptom. Each bug has a control: the same
 * stressed setting without the bug keeps every invariant on the same seeds, so what was caught is
 * the bug, not the setting. The seeds come from a range no earlier run used.
 */
const MAX_SEEDS = 200;
const FROM = 5_100_000;

async function firstFailingSeed(
  opts: Omit<RuntimeSimOptions, 'seed'>,
): Promise<{ seed: number; violation: string } | null> {
  for (let seed = FROM; seed < FROM + MAX_SEEDS; seed++) {
    const r = await runRuntimeSeed({ checkLinearizability: false, ...opts, seed });
    if (r.violation !== null) return { seed, violation: r.violation };
  }
  return null;
}

/** Runs the control over seeds `FROM`..`upTo` (at least 5); returns the violations found. */
async function controlViolations(opts: Omit<RuntimeSimOptions, 'seed'>, upTo: number): Promise<string[]> {
  const found: string[] = [];
  for (let seed = FROM; seed <= Math.max(upTo, FROM + 4); seed++) {
    const r = await runRuntimeSeed({ checkLinearizability: false, ...opts, seed });
    if (r.violation !== null) found.push(`seed ${seed}: ${r.violation}`);
  }
  return found;
}

async function expectCaught(
  bug: RuntimeBug,
  steps: number,
  symptom: RegExp,
  checkLinearizability = false,
): Promise<number> {
  const found = await firstFailingSeed({ steps, bug, checkLinearizability });
  expect(found, `${bug} went unnoticed for ${MAX_SEEDS} seeds`).not.toBeNull();
  expect(found!.violation).toMatch(symptom);
  return found!.seed;
}

describe('the runtime planted bugs are source patches', () => {
  it('every patch applies exactly once to the current sources, and no patch is the real module', async () => {
    const real = await raftModule([]);
    const patched = await raftModule(['appendDurableOnSubmit', 'appliedBeforeInstall']);
    expect(patched.Raft).not.toBe(real.Raft);
    expect(plantedBugOf([])).toBeNull();
    const all = plantedBugOf([
      'streamsSkipLeaderCheck',
      'keepStreamsOnStepDown',
      'appendDurableOnSubmit',
      'appliedBeforeInstall',
    ]);
    expect(all?.patches).toHaveLength(4);
    await expect(raftModule(['streamsSkipLeaderCheck', 'keepStreamsOnStepDown'])).resolves.toBeDefined();
  }, 60_000);

  it('a patch that no longer applies fails loudly', async () => {
    const { applyPatches } = await import('../src/planted/patch.ts');
    const bug = { name: 'gone', description: 'x', patches: [{ file: 'f', find: 'absent', replace: '' }] };
    expect(() => applyPatches(bug, () => 'source text')).toThrow(PatchDidNotApplyError);
  });
});

describe('the runtime simulator catches planted bugs', () => {
  it('"a heartbeat queued behind a large append": leader churn after healing; heartbeats on their own lane do not churn', async () => {
    const seed = await expectCaught('heartbeatBehindAppend', 600, /leader churn|election safety/);
    // A lagging learner may not catch up within the deadline over such slow links: 'no convergence'
    // is tolerated in the control, and reported.
    const control = await controlViolations({ steps: 600, slowLargeAppends: true }, seed);
    for (const v of control) expect(v).toMatch(/liveness \(no convergence\)/);
  }, 120_000);

  it('"a lease read without the drift margin": a read served after a later leader was elected; with the margin none is', async () => {
    // Lease probes isolate a leader and read from it every few ms; clocks at the ±10% edges.
    const seed = await expectCaught('leaseWithoutDriftMargin', 3000, /read safety \(lease\)/);
    expect(await controlViolations({ steps: 3000, leaseStress: true }, seed)).toEqual([]);
  }, 120_000);

  it('"a stream sending entries read under an old leader": a node stops on a log read that raced the next leader; the runtime closing its streams suffices', async () => {
    const seed = await expectCaught(
      'sendStaleReads',
      3000,
      /fatal stop: .* storage read failed|log matching/,
    );
    // Control: the streams skip every leader check, but the runtime closes them on step-down.
    expect(await controlViolations({ steps: 3000, patches: ['streamsSkipLeaderCheck'] }, seed)).toEqual([]);
  }, 120_000);

  it('"a snapshot reported applied before its install": a follower read sees the old state (not linearizable)', async () => {
    const seed = await expectCaught('appliedBeforeInstall', 2000, /linearizability/, true);
    expect(await controlViolations({ steps: 2000, checkLinearizability: true }, seed)).toEqual([]);
  }, 120_000);

  it('"an append reported durable before its flush": a committed entry missing from a quorum of durable logs', async () => {
    const seed = await expectCaught('appendDurableOnSubmit', 600, /committed durability/);
    expect(await controlViolations({ steps: 600 }, seed)).toEqual([]);
  }, 120_000);
});
