/**
 * The contract every Flotilla benchmark implements, and the figures the harness records.
 *
 * A benchmark is a module `src/benches/<name>.ts` exporting `bench: Bench`. The CLI discovers it,
 * hands it a {@link BenchContext}, prints what it records and writes the JSON report.
 *
 * @example
 * ```ts
 * import type { Bench } from '../harness.ts';
 *
 * export const bench: Bench = {
 *   name: 'example',
 *   description: 'sums an array',
 *   async run(ctx) {
 *     const n = ctx.quick ? 10_000 : 1_000_000;
 *     ctx.params({ n });
 *     const data = new Float64Array(n).fill(1);
 *     await ctx.measure('sum', { opsPerRep: n }, () => {
 *       let s = 0;
 *       for (const v of data) s += v;
 *       if (s !== n) throw new Error('bad sum');
 *     });
 *   },
 * };
 * ```
 *
 * @module
 */
import type { LatencySummary, Spread } from './stats.ts';

export type { LatencySummary, Spread } from './stats.ts';

/** A value a benchmark may record as a parameter. */
export type ParamValue = string | number | boolean | null;

/** How {@link BenchContext.measure} repeats a workload. */
export interface MeasureOptions {
  /** How many operations one call of the workload performs (> 0). */
  readonly opsPerRep: number;
  /** Measured repetitions; at least 3 (default 3). */
  readonly reps?: number;
  /** Unmeasured warm-up repetitions first (default 1; `--quick` caps it at 1). */
  readonly warmup?: number;
  /**
   * Other processes that are part of the workload (servers the benchmark started), read before each
   * repetition: their CPU time (from `/proc/<pid>/stat`) is recorded per operation in
   * {@link Measurement.processCpuUsPerOp} and counted as the benchmark's own, not as noise.
   */
  readonly pids?: () => readonly number[];
}

/** One measured workload, as printed and written to the JSON report. */
export interface Measurement {
  /** The label given to `measure`. */
  readonly label: string;
  /** Operations per repetition. */
  readonly opsPerRep: number;
  /** Measured repetitions. */
  readonly reps: number;
  /** Warm-up repetitions run before measuring. */
  readonly warmup: number;
  /** Operations per second over the repetitions: median with min–max. */
  readonly opsPerSec: Spread;
  /** CPU time (user + system, every thread of this process) per operation, in µs: median with min–max. */
  readonly cpuUsPerOp: Spread;
  /**
   * CPU time per operation of the processes given as `pids` (summed, this process excluded), in µs:
   * median with min–max; absent when no `pids` were given.
   */
  readonly processCpuUsPerOp?: Spread;
  /** Wall-clock seconds of each measured repetition, in order. */
  readonly repSeconds: readonly number[];
  /**
   * The share (0..1) of the machine's CPU capacity other processes used during the measured
   * repetitions, from `/proc/stat`; `null` where `/proc/stat` is unavailable.
   */
  readonly otherCpuShare: number | null;
  /**
   * The `/proc/stat` ticks (all CPUs) the measured repetitions spanned: the share's resolution. A
   * measurement is only flagged below `MIN_NOISE_TICKS`; `null` where `/proc/stat` is unavailable.
   */
  readonly procStatTicks: number | null;
  /** Whether {@link Measurement.otherCpuShare} exceeded the noise threshold (figures are suspect). */
  readonly noisy: boolean;
}

/** A comparison of two measurements taken in the same run. */
export interface Ratio {
  /** The label given to `ratio`. */
  readonly label: string;
  /** The numerator measurement's label. */
  readonly numerator: string;
  /** The denominator measurement's label. */
  readonly denominator: string;
  /** Median ops/s of the numerator divided by median ops/s of the denominator. */
  readonly value: number;
}

/** A named latency distribution recorded with {@link BenchContext.latency}. */
export interface LatencyRecord extends LatencySummary {
  /** The label. */
  readonly label: string;
  /** The samples' unit, e.g. `µs`. */
  readonly unit: string;
}

/** What a benchmark uses to declare parameters and record figures. */
export interface BenchContext {
  /** The benchmark's name. */
  readonly name: string;
  /** Whether `--quick` (or `--smoke`) was given: size workloads down to finish in a few seconds. */
  readonly quick: boolean;
  /**
   * Whether `--smoke` was given: the smallest workload that still runs every code path (a test that
   * the benchmark works, not a measurement). Implies {@link BenchContext.quick}.
   */
  readonly smoke: boolean;
  /** Arguments left after the harness took its own flags, for the benchmark to interpret. */
  readonly args: readonly string[];
  /** Aborted when the benchmark's time budget runs out; `measure` checks it between repetitions. */
  readonly signal: AbortSignal;
  /** Milliseconds left in the time budget (never negative). */
  remainingMs(): number;
  /** Returns `quick` when running with `--quick`, else `full`: a helper to size workloads. */
  pick<T>(full: T, quick: T): T;
  /** Returns `smoke` under `--smoke`, `quick` under `--quick`, else `full`. */
  size<T>(full: T, quick: T, smoke: T): T;
  /** Declares parameters: printed now and recorded in the report (later keys overwrite earlier ones). */
  params(obj: Readonly<Record<string, ParamValue>>): void;
  /**
   * Runs `fn` `warmup` times unmeasured, then `reps` (≥ 3) times measured, and records median ops/s
   * with min–max, CPU-µs per operation and the share of CPU other processes used meanwhile.
   *
   * @throws InvalidConfigError (`INVALID_CONFIG`) on a duplicate label, `reps < 3` or `opsPerRep ≤ 0`.
   * @throws TimeoutError (`TIMEOUT`) when the time budget runs out between repetitions.
   */
  measure(label: string, opts: MeasureOptions, fn: () => Promise<void> | void): Promise<Measurement>;
  /**
   * Like {@link BenchContext.measure} for several workloads at once, interleaved: every warm-up first,
   * then repetition 1 of each workload, repetition 2 of each, and so on, so a change in the machine's
   * load falls on all of them alike (e.g. a system and the peer it is compared with). Records one
   * measurement per workload, in the order given.
   *
   * @throws InvalidConfigError (`INVALID_CONFIG`) as `measure` does, or on no workloads.
   * @throws TimeoutError (`TIMEOUT`) when the time budget runs out between repetitions.
   */
  measureInterleaved(
    specs: readonly { label: string; opts: MeasureOptions; fn: () => Promise<void> | void }[],
  ): Promise<Measurement[]>;
  /**
   * Records the ratio of two measurements of this run (median ops/s of `numeratorLabel` over that of
   * `denominatorLabel`), e.g. a store's throughput against the raw fsync calibration.
   *
   * @throws InvalidConfigError (`INVALID_CONFIG`) when a label was not measured or the label is a duplicate.
   */
  ratio(label: string, numeratorLabel: string, denominatorLabel: string): Ratio;
  /**
   * Records a latency distribution (p50/p90/p99/p99.9, mean, min, max) of `samples` in `unit`.
   *
   * @throws InvalidConfigError (`INVALID_CONFIG`) on no samples, a non-finite sample or a duplicate label.
   */
  latency(label: string, samples: readonly number[], unit?: string): LatencyRecord;
  /** Prints a line of commentary and records it in the report. */
  note(text: string): void;
  /** Records extra figures (merged into the report's `results`; later keys overwrite earlier ones). */
  result(obj: Readonly<Record<string, unknown>>): void;
}

/** A benchmark: `export const bench: Bench` from `src/benches/<name>.ts`. */
export interface Bench {
  /** The benchmark's name; equals its file name without `.ts`. */
  name: string;
  /** One line saying what it measures. */
  description: string;
  /**
   * Its own default time budgets in ms, per mode, for benchmarks that start servers or fill large
   * logs (a `--budget` on the command line still wins); the harness defaults otherwise.
   */
  budgetMs?: { readonly full?: number; readonly quick?: number; readonly smoke?: number };
  /** Runs the benchmark, recording through `ctx`. */
  run(ctx: BenchContext): Promise<void>;
}

/** The machine a report was measured on. */
export interface MachineInfo {
  /** `os.cpus().length`. */
  readonly cpus: number;
  /** The first CPU's model string. */
  readonly cpuModel: string;
  /** `os.availableParallelism()`. */
  readonly availableParallelism: number;
  /** 1, 5 and 15 minute load averages when the run started. */
  readonly loadavg: readonly number[];
  /** Total memory in bytes. */
  readonly totalMemBytes: number;
  /** `process.version`. */
  readonly node: string;
  /** `process.platform`. */
  readonly platform: string;
  /** `process.arch`. */
  readonly arch: string;
  /** `os.release()`. */
  readonly kernel: string;
}

/** The JSON document written to `bench-results/<name>-<timestamp>.json` and `<name>-latest.json`. */
export interface BenchReport {
  /** Report format version. */
  readonly schema: 1;
  /** The benchmark's name. */
  readonly name: string;
  /** The benchmark's description. */
  readonly description: string;
  /** ISO-8601 start time. */
  readonly startedAt: string;
  /** Wall-clock seconds of the whole run. */
  readonly durationSeconds: number;
  /** Whether `--quick` was given. */
  readonly quick: boolean;
  /** Whether `--smoke` was given (figures from a smoke run measure nothing). */
  readonly smoke?: boolean;
  /** The time budget in milliseconds. */
  readonly budgetMs: number;
  /** Arguments passed through to the benchmark. */
  readonly args: readonly string[];
  /** Parameters the benchmark declared. */
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Measurements in the order taken. */
  readonly measurements: readonly Measurement[];
  /** Ratios in the order recorded. */
  readonly ratios: readonly Ratio[];
  /** Latency distributions in the order recorded. */
  readonly latencies: readonly LatencyRecord[];
  /** Extra figures from `result`. */
  readonly results: Readonly<Record<string, unknown>>;
  /** Notes in order. */
  readonly notes: readonly string[];
  /** The machine. */
  readonly machine: MachineInfo;
  /** The other-process CPU share above which a measurement is flagged noisy. */
  readonly noiseThreshold: number;
  /** The share of CPU other processes used over the whole run (setup included); `null` without `/proc/stat`. */
  readonly otherCpuShare: number | null;
  /** Whether the benchmark finished; `false` when it threw or ran out of budget (see `error`). */
  readonly ok: boolean;
  /** The error that ended the run early, if any. */
  readonly error: { readonly name: string; readonly code: string | null; readonly message: string } | null;
}
