/**
 * @packageDocumentation
 * The Flotilla benchmark harness (private workspace tool). Benchmarks live in `src/benches/<name>.ts`
 * and export `bench: Bench`; `pnpm bench [name] [--quick]` discovers and runs them, prints a table and
 * writes `bench-results/<name>-<timestamp>.json`. This module exposes the same API for programs that
 * drive benchmarks themselves.
 *
 * @example
 * ```ts
 * import { type Bench, runBench } from '@flotilla/bench';
 *
 * const bench: Bench = {
 *   name: 'noop',
 *   description: 'measures an empty loop',
 *   async run(ctx) {
 *     await ctx.measure('empty', { opsPerRep: 1000 }, () => {
 *       for (let i = 0; i < 1000; i++);
 *     });
 *   },
 * };
 * const { report } = await runBench(bench, { quick: true, outDir: null });
 * report.measurements[0]?.opsPerSec.median;
 * ```
 */
export { BENCHES_DIR, benchNames, type CliArgs, loadBench, parseCliArgs } from './discover.ts';
export type {
  Bench,
  BenchContext,
  BenchReport,
  LatencyRecord,
  LatencySummary,
  MachineInfo,
  Measurement,
  MeasureOptions,
  ParamValue,
  Ratio,
  Spread,
} from './harness.ts';
export {
  CLK_TCK,
  DEFAULT_BUDGET_MS,
  MIN_NOISE_TICKS,
  NOISE_THRESHOLD,
  pidsCpuMicros,
  QUICK_BUDGET_MS,
  REPO_ROOT,
  type RunOptions,
  type RunOutcome,
  runBench,
  SMOKE_BUDGET_MS,
} from './runner.ts';
export {
  median,
  otherCpuShare,
  type ProcStatSample,
  parsePidStatTicks,
  parseProcStat,
  percentileOfSorted,
  spread,
  summarizeLatencies,
} from './stats.ts';
