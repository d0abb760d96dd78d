/**
 * `pnpm sim --seeds N --from S [--level engine|runtime|all] [--steps K] [--bug NAME] [--verbose]`
 *
 * Runs N seeds from S, prints one summary line
 * `seeds=… steps=… faults=… violations=0` and exits 0; on a violation prints the failing seed, the
 * violation and a readable trace of its last steps and exits 1. Re-running one seed
 * (`--seeds 1 --from <seed>`) reproduces it exactly.
 */
import { PLANTED_BUGS, type PlantedBug } from '@flotilla/engine';
import { zeroFaults } from './engine/world.ts';
import { ALL_LEVELS, runSeed, type SimLevel } from './levels.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const seeds = Number(arg('seeds', '100'));
const from = Number(arg('from', '1'));
const stepsPerSeed = Number(arg('steps', '3000'));
const levelArg = arg('level', 'engine');
const bugArg = arg('bug', '');
const verbose = process.argv.includes('--verbose');
if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(from) || !Number.isInteger(stepsPerSeed)) {
  process.stderr.write(
    'usage: sim --seeds N --from S [--steps K] [--level engine|runtime|all] [--bug NAME]\n',
  );
  process.exit(2);
}
let levels: SimLevel[];
if (levelArg === 'all') levels = [...ALL_LEVELS];
else if (levelArg === 'engine') levels = ['engine'];
else {
  process.stderr.write(
    `level ${levelArg} is not implemented yet (available: ${ALL_LEVELS.join(', ')}, all)\n`,
  );
  process.exit(2);
}
if (bugArg !== '' && !PLANTED_BUGS.includes(bugArg as PlantedBug)) {
  process.stderr.write(`unknown bug ${bugArg}; one of ${PLANTED_BUGS.join(', ')}\n`);
  process.exit(2);
}
const bug = bugArg === '' ? null : (bugArg as PlantedBug);

const faults = zeroFaults();
let steps = 0;
let ops = 0;
const verdicts: Record<string, number> = {};
const started = performance.now();
for (const level of levels) {
  for (let seed = from; seed < from + seeds; seed++) {
    const r = runSeed(level, seed, { steps: stepsPerSeed, bug });
    steps += r.steps;
    ops += r.operations;
    verdicts[r.linearizability] = (verdicts[r.linearizability] ?? 0) + 1;
    for (const k of Object.keys(faults) as (keyof typeof faults)[]) faults[k] += r.faults[k];
    if (verbose)
      process.stdout.write(`seed=${seed} steps=${r.steps} ops=${r.operations} lin=${r.linearizability}\n`);
    if (r.violation !== null) {
      process.stdout.write(
        `VIOLATION level=${level} seed=${seed}: ${r.violation}\n--- last steps ---\n${r.trace.join('\n')}\n`,
      );
      process.stdout.write(
        `reproduce: pnpm sim --level ${level} --seeds 1 --from ${seed} --steps ${stepsPerSeed}${bug ? ` --bug ${bug}` : ''}\n`,
      );
      process.exit(1);
    }
  }
}
const faultText = Object.entries(faults)
  .map(([k, v]) => `${k}:${v}`)
  .join(',');
const secs = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(
  `seeds=${seeds * levels.length} steps=${steps} faults=${Object.values(faults).reduce((a, b) => a + b, 0)} (${faultText}) ops=${ops} linearizability=${JSON.stringify(verdicts)} violations=0 time=${secs}s\n`,
);
