/**
 * `pnpm --filter @flotilla/bench run report [--results=<dir>] [--out=<file>]`: writes `BENCHMARKS.md`
 * (default at the repository root) from `<results>/*-latest.json` (default `<repo>/bench-results`).
 *
 * @module
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchReport } from './harness.ts';
import { renderBenchmarks } from './report.ts';
import { REPO_ROOT } from './runner.ts';

async function main(argv: readonly string[]): Promise<number> {
  const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const dir = opt('results') ?? join(REPO_ROOT, 'bench-results');
  const out = opt('out') ?? join(REPO_ROOT, 'BENCHMARKS.md');
  const files = (await readdir(dir)).filter((f) => f.endsWith('-latest.json')).sort();
  const reports: BenchReport[] = [];
  for (const f of files) {
    const r = JSON.parse(await readFile(join(dir, f), 'utf8')) as BenchReport;
    if (r.schema === 1) reports.push(r);
  }
  await writeFile(out, renderBenchmarks(reports));
  process.stdout.write(`wrote ${out} from ${reports.length} reports in ${dir}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
