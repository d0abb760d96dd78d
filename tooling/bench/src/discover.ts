import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidConfigError } from '@flotilla/types';
import type { Bench } from './harness.ts';

/** The directory benchmarks live in: `src/benches/`. */
export const BENCHES_DIR: string = join(import.meta.dirname, 'benches');

/** What the command line asked for. */
export interface CliArgs {
  /** The benchmark to run, or `null` for all. */
  readonly name: string | null;
  /** `--quick`. */
  readonly quick: boolean;
  /** `--smoke`: the smallest workloads, reports written under `--out` only. */
  readonly smoke: boolean;
  /** `--list`: print names and descriptions only. */
  readonly list: boolean;
  /** `--help`. */
  readonly help: boolean;
  /** `--budget=<seconds>` in ms, if given. */
  readonly budgetMs: number | null;
  /** `--out=<dir>`, if given. */
  readonly outDir: string | null;
  /** Everything else, passed to the benchmark as `ctx.args`. */
  readonly rest: readonly string[];
}

/** The usage text. */
export const USAGE = `usage: pnpm bench [name] [--quick] [--budget=<seconds>] [--out=<dir>] [--list] [bench args...]
  name           run only this benchmark (file src/benches/<name>.ts); all of them when omitted
  --quick        small workloads and a 10 s budget (default budget 45 s per benchmark)
  --smoke        the smallest workloads (a test that each benchmark runs; no figure means anything);
                 writes no report unless --out is given
  --budget=S     time budget per benchmark in seconds
  --out=DIR      where to write the JSON reports (default <repo>/bench-results)
  --list         list benchmarks and exit
  other args     passed to the benchmark (ctx.args), e.g. --dir=/mnt/data for calibrate-fsync`;

/**
 * Parses the command line (without `node` and the script). The first argument not starting with `-`
 * names the benchmark; flags the harness does not know, and later positional arguments, pass through.
 * A lone `--` (as pnpm and turbo forward it) is skipped.
 *
 * @throws InvalidConfigError (`INVALID_CONFIG`) on a malformed `--budget`.
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let name: string | null = null;
  let quick = false;
  let smoke = false;
  let list = false;
  let help = false;
  let budgetMs: number | null = null;
  let outDir: string | null = null;
  const rest: string[] = [];
  for (const arg of argv) {
    if (arg === '--') continue;
    if (arg === '--quick') quick = true;
    else if (arg === '--smoke') smoke = true;
    else if (arg === '--list') list = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg.startsWith('--budget=')) {
      const seconds = Number(arg.slice('--budget='.length));
      if (!(seconds > 0) || !Number.isFinite(seconds)) {
        throw new InvalidConfigError('--budget', `expected a positive number of seconds, got "${arg}"`);
      }
      budgetMs = seconds * 1000;
    } else if (arg.startsWith('--out=')) outDir = arg.slice('--out='.length);
    else if (name === null && !arg.startsWith('-')) name = arg;
    else rest.push(arg);
  }
  return { name, quick, smoke, list, help, budgetMs, outDir, rest };
}

/** The benchmark names found in `dir`: every `*.ts` file that is not a test, sorted. */
export async function benchNames(dir: string = BENCHES_DIR): Promise<string[]> {
  const entries = await readdir(dir);
  return entries
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .sort();
}

function isBench(value: unknown): value is Bench {
  if (value === null || typeof value !== 'object') return false;
  const b = value as Record<string, unknown>;
  return typeof b.name === 'string' && typeof b.description === 'string' && typeof b.run === 'function';
}

/**
 * Imports `src/benches/<name>.ts` and returns its `bench` export.
 *
 * @throws InvalidConfigError (`INVALID_CONFIG`) when the module has no valid `bench` export or its
 * `name` differs from the file name; import errors propagate.
 */
export async function loadBench(name: string, dir: string = BENCHES_DIR): Promise<Bench> {
  const mod = (await import(pathToFileURL(join(dir, `${name}.ts`)).href)) as { bench?: unknown };
  if (!isBench(mod.bench)) {
    throw new InvalidConfigError(name, 'module does not export `bench: Bench`');
  }
  if (mod.bench.name !== name) {
    throw new InvalidConfigError(name, `bench.name "${mod.bench.name}" differs from its file name`);
  }
  return mod.bench;
}
