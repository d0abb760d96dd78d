/**
 * `pnpm sim --seeds N --from S [--level engine|runtime|all] [--steps K] [--bug NAME] [--verbose]`
 * (no `--level`: both levels; `--steps` defaults to 3000 engine events / 2000 runtime scheduler events)
 *
 * Runs N seeds from S, prints one summary line
 * `seeds=… steps=… faults=… linearizability={…} overBudget=N violations=0` (`overBudget`: histories
 * the linearizability checker could not decide within its step budget) and exits 0; on a violation
 * prints the failing seed, the
 * violation and a readable trace of its last steps and exits 1. Re-running one seed
 * (`--seeds 1 --from <seed>`) reproduces it exactly.
 */
import { ENGINE_BUG_NAMES } from './engine/bugs.ts';
import { ALL_LEVELS, type AnyPlantedBug, runSeed, type SimLevel } from './levels.ts';
import { RUNTIME_BUGS } from './runtime/run.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const seeds = Number(arg('seeds', '100'));
const from = Number(arg('from', '1'));
const stepsArg = arg('steps', '');
const stepsPerSeed = (level: SimLevel): number =>
  stepsArg !== '' ? Number(stepsArg) : level === 'engine' ? 3000 : 2000;
const levelArg = arg('level', 'all');
const bugArg = arg('bug', '');
const verbose = process.argv.includes('--verbose');
if (
  !Number.isInteger(seeds) ||
  seeds < 1 ||
  !Number.isInteger(from) ||
  !Number.isInteger(stepsPerSeed('engine'))
) {
  process.stderr.write(
    'usage: sim --seeds N --from S [--steps K] [--level engine|runtime|all] [--bug NAME]\n',
  );
  process.exit(2);
}
let levels: SimLevel[];
if (levelArg === 'all') levels = [...ALL_LEVELS];
else if (levelArg === 'engine' || levelArg === 'runtime') levels = [levelArg];
else {
  process.stderr.write(`unknown level ${levelArg} (one of: ${ALL_LEVELS.join(', ')}, all)\n`);
  process.exit(2);
}
const knownBugs: readonly string[] = [...ENGINE_BUG_NAMES, ...RUNTIME_BUGS];
if (bugArg !== '' && !knownBugs.includes(bugArg)) {
  process.stderr.write(`unknown bug ${bugArg}; one of ${knownBugs.join(', ')}\n`);
  process.exit(2);
}
const bug = bugArg === '' ? null : (bugArg as AnyPlantedBug);

const faults: Record<string, number> = {};
let steps = 0;
let ops = 0;
const verdicts: Record<string, number> = {};
const started = performance.now();
for (const level of levels) {
  for (let seed = from; seed < from + seeds; seed++) {
    const r = await runSeed(level, seed, { steps: stepsPerSeed(level), bug });
    steps += r.steps;
    ops += r.operations;
    verdicts[r.linearizability] = (verdicts[r.linearizability] ?? 0) + 1;
    for (const [k, v] of Object.entries(r.faults))
      faults[`${level}.${k}`] = (faults[`${level}.${k}`] ?? 0) + v;
    if (verbose)
      process.stdout.write(
        `seed=${seed} steps=${r.steps} ops=${r.operations} lin=${r.linearizability}${r.linearizabilitySteps === undefined ? '' : ` linSteps=${r.linearizabilitySteps}`}\n`,
      );
    if (r.violation !== null) {
      process.stdout.write(
        `VIOLATION level=${level} seed=${seed}: ${r.violation}\n--- last steps ---\n${r.trace.join('\n')}\n`,
      );
      process.stdout.write(`histories over the linearizability budget so far: ${verdicts.unknown ?? 0}\n`);
      process.stdout.write(
        `reproduce: pnpm sim --level ${level} --seeds 1 --from ${seed} --steps ${stepsPerSeed(level)}${bug ? ` --bug ${bug}` : ''}\n`,
      );
      process.exit(1);
    }
  }
}
const faultText = Object.entries(faults)
  .map(([k, v]) => `${k}:${v}`)
  .join(',');
const secs = ((performance.now() - started) / 1000).toFixed(1);
// A history the checker could not decide within its (step) budget is 'unknown': over budget.
const overBudget = verdicts.unknown ?? 0;
process.stdout.write(
  `seeds=${seeds * levels.length} steps=${steps} faults=${Object.values(faults).reduce((a, b) => a + b, 0)} (${faultText}) ops=${ops} linearizability=${JSON.stringify(verdicts)} overBudget=${overBudget} violations=0 time=${secs}s\n`,
);
