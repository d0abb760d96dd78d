/**
 * `pnpm bench [name] [--quick] …`: lists and runs the benchmarks in `src/benches/`.
 *
 * Exits 0 when every benchmark it ran finished, 1 when one failed or could not be loaded,
 * 2 on a usage error.
 *
 * @module
 */
import { benchNames, loadBench, parseCliArgs, USAGE } from './discover.ts';
import { runBench } from './runner.ts';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function errLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let args: ReturnType<typeof parseCliArgs>;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    errLine(err instanceof Error ? err.message : String(err));
    errLine(USAGE);
    return 2;
  }
  if (args.help) {
    out(USAGE);
    return 0;
  }
  const names = await benchNames();
  if (args.name !== null && !names.includes(args.name)) {
    errLine(`unknown benchmark "${args.name}"; available: ${names.join(', ')}`);
    return 2;
  }
  const selected = args.name === null ? names : [args.name];
  if (args.list || args.name === null) {
    out('benchmarks:');
    for (const name of names) {
      try {
        out(`  ${name.padEnd(24)} ${(await loadBench(name)).description}`);
      } catch (err) {
        out(`  ${name.padEnd(24)} (cannot load: ${err instanceof Error ? err.message : String(err)})`);
      }
    }
    if (args.list) return 0;
    out('');
  }
  const failed: string[] = [];
  for (const name of selected) {
    let bench: Awaited<ReturnType<typeof loadBench>>;
    try {
      bench = await loadBench(name);
    } catch (err) {
      errLine(`✗ ${name}: cannot load: ${err instanceof Error ? err.message : String(err)}`);
      failed.push(name);
      continue;
    }
    const { report } = await runBench(bench, {
      quick: args.quick,
      smoke: args.smoke,
      args: args.rest,
      print: out,
      ...(args.budgetMs !== null ? { budgetMs: args.budgetMs } : {}),
      // A smoke run's figures mean nothing: they do not replace the last real report.
      ...(args.outDir !== null ? { outDir: args.outDir } : args.smoke ? { outDir: null } : {}),
    });
    if (!report.ok) failed.push(name);
    out('');
  }
  if (selected.length > 1) {
    out(`${selected.length - failed.length} of ${selected.length} benchmarks finished`);
  }
  if (failed.length > 0) errLine(`failed: ${failed.join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly: a benchmark that leaked a handle (a socket, a timer) must not hang the run.
    // stdout and stderr are synchronous for files and pipes on Linux, so nothing printed is lost.
    process.exit(code);
  },
  (err: unknown) => {
    errLine(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
