/**
 * `pnpm chaos [--duration S] [--seed N] [--nodes 3|5] [--faults kill,pause,…] [--dir D] [--keep]
 * [--strict] [--no-netns] [--verify]`: re-executes itself inside a private network namespace when
 * it can (so partitions are possible and ports never collide with the host's), runs one chaos run,
 * prints a summary and, as the very last line, the one-line verdict. Exit code 0 only on a pass.
 */
import { parseArgs } from 'node:util';
import { canUnshare, inPrivateNetns, reexecInNetns, setupNamespace } from './netns.ts';
import {
  PLANTED_BUGS,
  PLANTED_SCENARIOS,
  type PlantedBug,
  type PlantedResult,
  runRandom,
  runScripted,
} from './planted.ts';
import { lastLine, summary } from './report.ts';
import { runChaos } from './run.ts';
import { describeSchedule, FAULT_FAMILIES, parseFamilies } from './schedule.ts';

const USAGE = `pnpm chaos [options]

  --duration S     seconds of workload and faults (default 60)
  --seed N         seed of the fault schedule and workload choices (default: random, printed)
  --nodes N        voters: 3 or 5 (default 3)
  --faults LIST    fault families, comma-separated (default all: ${FAULT_FAMILIES.join(',')})
  --dir D          where data, node logs, history.jsonl and report.json go (default: a temp dir)
  --keep           keep the nodes' data dirs after a passing run
  --strict         fail when a requested fault family is unavailable
  --no-netns       do not re-run inside a private network namespace (no partitions)
  --read-policy P  readIndex (default) or lease: how /linearizable_read confirms leadership
  --verify         each planted bug under random schedules (seeds from --seed, --duration each,
                   --budget S per bug, default 180): reports the time to detection
  --plant-bug NAME one run with a planted bug (${PLANTED_BUGS.join(', ')}); with --scripted, its
                   scripted schedule instead of a random one; --control: the same without the bug
  --help
`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      faults: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean' },
      strict: { type: 'boolean' },
      'no-netns': { type: 'boolean' },
      verify: { type: 'boolean' },
      'read-policy': { type: 'string' },
      'plant-bug': { type: 'string' },
      scripted: { type: 'boolean' },
      control: { type: 'boolean' },
      budget: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const int = (v: string | undefined, name: string, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    const x = Number(v);
    if (!Number.isInteger(x) || x < min)
      throw new RangeError(`--${name} expects an integer >= ${min}, got "${v}"`);
    return x;
  };
  const durationS = int(values.duration, 'duration', 60, 10);
  const seed = int(values.seed, 'seed', Math.floor(Math.random() * 1_000_000), 0);
  const nodes = int(values.nodes, 'nodes', 3, 3);
  const families = values.faults === undefined ? [...FAULT_FAMILIES] : parseFamilies(values.faults);

  const readPolicy = values['read-policy'];
  if (readPolicy !== undefined && readPolicy !== 'readIndex' && readPolicy !== 'lease') {
    throw new RangeError(`--read-policy expects readIndex or lease, got "${readPolicy}"`);
  }
  const bug = values['plant-bug'];
  if (bug !== undefined && !(PLANTED_BUGS as readonly string[]).includes(bug)) {
    throw new RangeError(`--plant-bug expects one of ${PLANTED_BUGS.join(', ')}, got "${bug}"`);
  }

  if (!inPrivateNetns() && values['no-netns'] !== true && (await canUnshare())) {
    return reexecInNetns();
  }
  if (inPrivateNetns()) await setupNamespace();

  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (values.verify === true) {
    return verify({ seed, durationS, budgetS: int(values.budget, 'budget', 180, 10), out, dir: values.dir });
  }
  if (bug !== undefined && values.scripted === true) {
    const r = await runScripted(bug as PlantedBug, {
      seed,
      plant: values.control !== true,
      log: (line) => out(`  ${line}`),
      ...(values.dir === undefined ? {} : { dir: values.dir }),
    });
    for (const line of summary(r.report)) out(line);
    out(plantedLine(r, values.control === true));
    out(lastLine(r.report));
    return r.detected === (values.control !== true) ? 0 : 1;
  }
  const report = await runChaos({
    seed,
    durationS,
    nodes,
    families,
    ...(values.dir === undefined ? {} : { dir: values.dir }),
    keep: values.keep === true,
    log: (line) => out(`  ${line}`),
    ...(readPolicy === undefined ? {} : { readPolicy: readPolicy as 'readIndex' | 'lease' }),
    ...(bug === undefined
      ? {}
      : { plantBug: bug as PlantedBug, ...PLANTED_SCENARIOS[bug as PlantedBug].options }),
  });
  for (const line of summary(report)) out(line);
  let pass = report.pass;
  if (!report.pass) {
    out(`seed ${report.seed}; fault schedule:`);
    for (const line of describeSchedule(report.schedule)) out(`  ${line}`);
    if (report.linearizability.explanation !== undefined) out(report.linearizability.explanation);
    for (const w of report.lostWrites.slice(0, 10)) {
      out(`  lost: op ${w.id} set ${w.key} = ${w.value}; node ${w.node} holds ${JSON.stringify(w.found)}`);
    }
  }
  if (values.strict === true) {
    const missing = families.filter((f) => report.faults.byFamily[f].unavailable !== undefined);
    if (missing.length > 0) {
      out(`strict: unavailable fault families: ${missing.join(', ')}`);
      pass = false;
    }
  }
  out(lastLine(report));
  return pass ? 0 : 1;
}

/** One line per planted-bug run. */
function plantedLine(r: PlantedResult, control = false): string {
  if (control)
    return `control (${r.bug} NOT planted): ${r.detected ? 'FAILED' : 'passed'} — ${r.reasons.join('; ') || 'ok'}`;
  return (
    `planted ${r.bug}: ${r.detected ? 'DETECTED' : 'NOT detected'}, seed ${r.seed}, ` +
    `${r.secondsToDetection ?? '—'} s to detection (${r.runs} run${r.runs === 1 ? '' : 's'}); ` +
    `reasons: ${r.reasons.join('; ') || '—'}; faults: ${r.faults || '—'}`
  );
}

/** `--verify`: each planted bug under random schedules until detected; exit 0 if every one was. */
async function verify(o: {
  seed: number;
  durationS: number;
  budgetS: number;
  out: (line: string) => void;
  dir: string | undefined;
}): Promise<number> {
  const results: PlantedResult[] = [];
  for (const bug of PLANTED_BUGS) {
    o.out(`verify: ${bug} (${PLANTED_SCENARIOS[bug].description}) under random schedules…`);
    const r = await runRandom(bug, {
      seed: o.seed,
      durationS: o.durationS,
      budgetS: o.budgetS,
      log: (line) => o.out(`  ${line}`),
      ...(o.dir === undefined ? {} : { dir: o.dir }),
    });
    results.push(r);
    o.out(plantedLine(r));
  }
  o.out('verify summary:');
  for (const r of results) o.out(`  ${plantedLine(r)}`);
  const missed = results.filter((r) => !r.detected).map((r) => r.bug);
  o.out(
    `chaos --verify: ${results.length - missed.length}/${results.length} planted bugs detected${missed.length > 0 ? ` (missed: ${missed.join(', ')})` : ''}`,
  );
  return missed.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`chaos: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    process.exitCode = 2;
  },
);
