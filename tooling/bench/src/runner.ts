import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasErrorCode, InvalidConfigError, TimeoutError } from '@flotilla/types';
import {
  fmtNum,
  formatLatency,
  formatMeasurement,
  formatParams,
  formatRatio,
  formatSummaryTable,
} from './format.ts';
import type {
  Bench,
  BenchContext,
  BenchReport,
  LatencyRecord,
  MachineInfo,
  Measurement,
  MeasureOptions,
  ParamValue,
  Ratio,
} from './harness.ts';
import {
  otherCpuShare,
  type ProcStatSample,
  parsePidStatTicks,
  parseProcStat,
  spread,
  summarizeLatencies,
} from './stats.ts';

/** Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`: 100 on Linux). */
export const CLK_TCK = 100;

/** CPU time (µs) the processes `pids` have used so far, summed; a process that is gone counts 0. */
export function pidsCpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      ticks += parsePidStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      // gone, or no /proc: counts 0
    }
  }
  return (ticks * 1e6) / CLK_TCK;
}

/** The default time budget of one benchmark: 45 s. */
export const DEFAULT_BUDGET_MS = 45_000;
/** The time budget of one benchmark under `--quick`: 10 s. */
export const QUICK_BUDGET_MS = 10_000;
/** The time budget of one benchmark under `--smoke`: 15 s (a smoke run should take 1–3 s). */
export const SMOKE_BUDGET_MS = 15_000;
/** Above this share of CPU used by other processes, a measurement is flagged noisy. */
export const NOISE_THRESHOLD = 0.2;

/**
 * The fewest `/proc/stat` ticks (summed over CPUs, 100 per CPU-second on Linux) a measurement must
 * span for its other-process share to be trusted enough to flag; shorter runs still record the share.
 */
export const MIN_NOISE_TICKS = 50;

/** The repository root (`bench-results/` is written there by default). */
export const REPO_ROOT: string = fileURLToPath(new URL('../../../', import.meta.url));

/** How to run one benchmark. */
export interface RunOptions {
  /** Size workloads down (`ctx.quick`) and default to {@link QUICK_BUDGET_MS}. */
  readonly quick?: boolean;
  /** The smallest workloads (`ctx.smoke`; implies `quick`), default budget {@link SMOKE_BUDGET_MS}. */
  readonly smoke?: boolean;
  /** The time budget in ms (default {@link DEFAULT_BUDGET_MS}, or {@link QUICK_BUDGET_MS} when quick). */
  readonly budgetMs?: number;
  /** Arguments for the benchmark itself. */
  readonly args?: readonly string[];
  /** Where to write the JSON reports (default `<repo>/bench-results`); `null` writes nothing. */
  readonly outDir?: string | null;
  /** Where printed lines go (default: nowhere). */
  readonly print?: (line: string) => void;
  /** Reads `/proc/stat` (injectable for tests); returns `null` where unavailable. */
  readonly readProcStat?: () => string | null;
  /**
   * Settles the heap before every repetition (warm-up or measured), outside the timed part, so one
   * workload's garbage is not collected on the next one's time. Default: a full collection with
   * `globalThis.gc` when node runs with `--expose-gc` (the `bench` and `smoke` scripts do), then a
   * pause of {@link SETTLE_PAUSE_MS} for V8's concurrent sweeping to finish off the clock; else
   * nothing (and the report gets a note saying so); `null` never settles.
   */
  readonly settleHeap?: (() => void | Promise<void>) | null;
}

/** The pause after a settling collection: V8 sweeps the old generation on other threads after it. */
export const SETTLE_PAUSE_MS = 20;

/** A full collection then a short pause, when node exposes `gc` (`--expose-gc`); else `null`. */
export function exposedGc(): (() => Promise<void>) | null {
  const gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') return null;
  return () => {
    (gc as () => void)();
    return new Promise((resolve) => setTimeout(resolve, SETTLE_PAUSE_MS));
  };
}

/** What {@link runBench} returns. */
export interface RunOutcome {
  /** The report, as written. */
  readonly report: BenchReport;
  /** The files written (timestamped first, then `-latest`); empty when `outDir` was `null`. */
  readonly files: readonly string[];
}

function defaultReadProcStat(): string | null {
  try {
    return readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
}

function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    availableParallelism: os.availableParallelism(),
    loadavg: os.loadavg(),
    totalMemBytes: os.totalmem(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    kernel: os.release(),
  };
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

function errorInfo(err: unknown): BenchReport['error'] {
  if (err instanceof Error) {
    return { name: err.name, code: hasErrorCode(err) ? err.code : null, message: err.message };
  }
  return { name: 'Error', code: null, message: String(err) };
}

/**
 * Runs one benchmark: builds its {@link BenchContext}, prints what it records, and writes the JSON
 * report (`<outDir>/<name>-<timestamp>.json` and `<outDir>/<name>-latest.json`).
 *
 * A benchmark that throws (or runs out of budget) still gets its partial report written, with
 * `ok: false` and the error; `runBench` itself only rejects when the report cannot be written.
 *
 * @throws InvalidConfigError (`INVALID_CONFIG`) when `budgetMs` is not a positive number.
 */
export async function runBench(bench: Bench, options: RunOptions = {}): Promise<RunOutcome> {
  const smoke = options.smoke ?? false;
  const quick = smoke || (options.quick ?? false);
  const own = bench.budgetMs;
  const budgetMs =
    options.budgetMs ??
    (smoke
      ? (own?.smoke ?? SMOKE_BUDGET_MS)
      : quick
        ? (own?.quick ?? QUICK_BUDGET_MS)
        : (own?.full ?? DEFAULT_BUDGET_MS));
  if (!(budgetMs > 0) || !Number.isFinite(budgetMs)) {
    throw new InvalidConfigError('budgetMs', `must be a positive number, got ${budgetMs}`);
  }
  const print = options.print ?? (() => {});
  const readStat = options.readProcStat ?? defaultReadProcStat;
  const sampleStat = (): ProcStatSample | null => {
    const text = readStat();
    if (text === null) return null;
    try {
      return parseProcStat(text);
    } catch {
      return null;
    }
  };
  const settleHeap = options.settleHeap === undefined ? exposedGc() : options.settleHeap;
  const args = options.args ?? [];
  const params: Record<string, ParamValue> = {};
  const measurements: Measurement[] = [];
  const ratios: Ratio[] = [];
  const latencies: LatencyRecord[] = [];
  const results: Record<string, unknown> = {};
  const notes: string[] = [];
  const machine = machineInfo();
  const started = new Date();
  const startNs = process.hrtime.bigint();
  const deadline = performance.now() + budgetMs;
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new TimeoutError(`benchmark ${bench.name} exceeded its ${budgetMs} ms budget`)),
    budgetMs,
  );
  timer.unref();
  const labels = new Set<string>();
  const claim = (kind: string, label: string): void => {
    if (label.length === 0) throw new InvalidConfigError(kind, 'label must not be empty');
    if (labels.has(label)) throw new InvalidConfigError(kind, `duplicate label "${label}"`);
    labels.add(label);
  };
  const checkBudget = (): void => {
    if (controller.signal.aborted || performance.now() > deadline) {
      throw new TimeoutError(`benchmark ${bench.name} exceeded its ${budgetMs} ms budget`);
    }
  };

  /** Validated options of one workload. */
  const validate = (label: string, opts: MeasureOptions): { reps: number; warmup: number } => {
    const reps = opts.reps ?? 3;
    const warmup = Math.min(opts.warmup ?? 1, quick ? 1 : Number.POSITIVE_INFINITY);
    if (!Number.isInteger(reps) || reps < 3) {
      throw new InvalidConfigError('reps', `must be an integer ≥ 3, got ${reps}`);
    }
    if (!Number.isInteger(warmup) || warmup < 0) {
      throw new InvalidConfigError('warmup', `must be a non-negative integer, got ${warmup}`);
    }
    if (!(opts.opsPerRep > 0) || !Number.isFinite(opts.opsPerRep)) {
      throw new InvalidConfigError('opsPerRep', `must be a positive number, got ${opts.opsPerRep}`);
    }
    if (label.length === 0) throw new InvalidConfigError('measure', 'label must not be empty');
    if (labels.has(label)) throw new InvalidConfigError('measure', `duplicate label "${label}"`);
    return { reps, warmup };
  };

  /**
   * Runs the workloads' warm-ups, then their repetitions in turn (rep 1 of each, rep 2 of each, …),
   * and records one measurement per workload. The other-process share of a workload sums the
   * `/proc/stat` deltas, wall time and own CPU of its own repetitions only.
   */
  const runInterleaved = async (
    specs: readonly { label: string; opts: MeasureOptions; fn: () => Promise<void> | void }[],
  ): Promise<Measurement[]> => {
    if (specs.length === 0) throw new InvalidConfigError('measure', 'no workloads');
    const plans = specs.map((sp) => ({ ...sp, ...validate(sp.label, sp.opts) }));
    if (new Set(specs.map((sp) => sp.label)).size !== specs.length) {
      throw new InvalidConfigError('measure', 'duplicate label among interleaved workloads');
    }
    for (const sp of specs) claim('measure', sp.label);
    const maxWarmup = Math.max(...plans.map((p) => p.warmup));
    for (let i = 0; i < maxWarmup; i++) {
      for (const p of plans) {
        if (i >= p.warmup) continue;
        checkBudget();
        await settleHeap?.();
        await p.fn();
      }
    }
    const acc = plans.map(() => ({
      repSeconds: [] as number[],
      opsPerSec: [] as number[],
      cpuPerOp: [] as number[],
      procCpuPerOp: [] as number[],
      ownCpu: 0,
      wallMicros: 0,
      busy: 0,
      total: 0,
      haveStat: true,
      cpus: 1,
    }));
    const maxReps = Math.max(...plans.map((p) => p.reps));
    for (let i = 0; i < maxReps; i++) {
      for (const [k, p] of plans.entries()) {
        if (i >= p.reps) continue;
        const a = acc[k] as (typeof acc)[number];
        checkBudget();
        await settleHeap?.();
        const pids = p.opts.pids?.() ?? [];
        const statBefore = sampleStat();
        const p0 = p.opts.pids === undefined ? 0 : pidsCpuMicros(pids);
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await p.fn();
        const ns = Number(process.hrtime.bigint() - t0);
        const cpu = cpuMicros(c0);
        const procCpu = p.opts.pids === undefined ? 0 : pidsCpuMicros(pids) - p0;
        const statAfter = sampleStat();
        if (p.opts.pids !== undefined) a.procCpuPerOp.push(procCpu / p.opts.opsPerRep);
        const seconds = Math.max(ns, 1) / 1e9;
        a.repSeconds.push(seconds);
        a.opsPerSec.push(p.opts.opsPerRep / seconds);
        a.cpuPerOp.push(cpu / p.opts.opsPerRep);
        a.ownCpu += cpu + procCpu;
        a.wallMicros += ns / 1e3;
        if (statBefore === null || statAfter === null) a.haveStat = false;
        else {
          a.busy += statAfter.busy - statBefore.busy;
          a.total += statAfter.total - statBefore.total;
          a.cpus = statAfter.cpus;
        }
      }
    }
    const out: Measurement[] = [];
    for (const [k, p] of plans.entries()) {
      const a = acc[k] as (typeof acc)[number];
      const share = a.haveStat
        ? otherCpuShare(
            { busy: 0, total: 0, cpus: a.cpus },
            { busy: a.busy, total: a.total, cpus: a.cpus },
            a.ownCpu,
            a.wallMicros,
          )
        : null;
      const ticks = a.haveStat ? a.total : null;
      const m: Measurement = {
        label: p.label,
        opsPerRep: p.opts.opsPerRep,
        reps: p.reps,
        warmup: p.warmup,
        opsPerSec: spread(a.opsPerSec),
        cpuUsPerOp: spread(a.cpuPerOp),
        ...(p.opts.pids === undefined ? {} : { processCpuUsPerOp: spread(a.procCpuPerOp) }),
        repSeconds: a.repSeconds,
        otherCpuShare: share,
        procStatTicks: ticks,
        noisy: share !== null && ticks !== null && ticks >= MIN_NOISE_TICKS && share > NOISE_THRESHOLD,
      };
      measurements.push(m);
      print(formatMeasurement(m));
      out.push(m);
    }
    return out;
  };

  const ctx: BenchContext = {
    name: bench.name,
    quick,
    smoke,
    args,
    signal: controller.signal,
    remainingMs: () => Math.max(0, deadline - performance.now()),
    pick: (full, quickValue) => (quick ? quickValue : full),
    size: (full, quickValue, smokeValue) => (smoke ? smokeValue : quick ? quickValue : full),
    params(obj) {
      Object.assign(params, obj);
      for (const line of formatParams(obj)) print(line);
    },
    async measure(label: string, opts: MeasureOptions, fn: () => Promise<void> | void) {
      const [m] = await runInterleaved([{ label, opts, fn }]);
      return m as Measurement;
    },
    measureInterleaved(specs) {
      return runInterleaved(specs);
    },
    ratio(label, numeratorLabel, denominatorLabel) {
      const num = measurements.find((m) => m.label === numeratorLabel);
      const den = measurements.find((m) => m.label === denominatorLabel);
      if (num === undefined) throw new InvalidConfigError('ratio', `no measurement "${numeratorLabel}"`);
      if (den === undefined) throw new InvalidConfigError('ratio', `no measurement "${denominatorLabel}"`);
      claim('ratio', label);
      const r: Ratio = {
        label,
        numerator: numeratorLabel,
        denominator: denominatorLabel,
        value: num.opsPerSec.median / den.opsPerSec.median,
      };
      ratios.push(r);
      print(formatRatio(r));
      return r;
    },
    latency(label, samples, unit = 'µs') {
      const summary = summarizeLatencies(samples);
      claim('latency', label);
      const rec: LatencyRecord = { label, unit, ...summary };
      latencies.push(rec);
      print(formatLatency(rec));
      return rec;
    },
    note(text) {
      notes.push(text);
      print(`  note: ${text}`);
    },
    result(obj) {
      Object.assign(results, obj);
      for (const [k, v] of Object.entries(obj)) {
        print(`  result ${k} = ${typeof v === 'number' ? fmtNum(v) : JSON.stringify(v)}`);
      }
    },
  };

  print(`▶ ${bench.name}: ${bench.description}${smoke ? ' (smoke)' : quick ? ' (quick)' : ''}`);
  const runStat = sampleStat();
  const runCpu = process.cpuUsage();
  let error: BenchReport['error'] = null;
  try {
    await bench.run(ctx);
  } catch (err) {
    error = errorInfo(err);
    print(`  ✗ ${bench.name} failed: ${error?.code ?? error?.name}: ${error?.message}`);
  } finally {
    clearTimeout(timer);
  }
  if (settleHeap === null && options.settleHeap === undefined && measurements.length > 0) {
    notes.push('the heap was not settled between repetitions (node ran without --expose-gc)');
  }
  const durationSeconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  const runStatEnd = sampleStat();
  const runShare =
    runStat !== null && runStatEnd !== null
      ? otherCpuShare(runStat, runStatEnd, cpuMicros(runCpu), durationSeconds * 1e6)
      : null;
  const report: BenchReport = {
    schema: 1,
    name: bench.name,
    description: bench.description,
    startedAt: started.toISOString(),
    durationSeconds,
    quick,
    smoke,
    budgetMs,
    args,
    params,
    measurements,
    ratios,
    latencies,
    results,
    notes,
    machine,
    noiseThreshold: NOISE_THRESHOLD,
    otherCpuShare: runShare,
    ok: error === null,
    error,
  };
  for (const line of formatSummaryTable(report)) print(line);

  const outDir = options.outDir === undefined ? join(REPO_ROOT, 'bench-results') : options.outDir;
  const files: string[] = [];
  if (outDir !== null) {
    await mkdir(outDir, { recursive: true });
    const stamp = started.toISOString().replace(/[:.]/g, '-');
    const json = `${JSON.stringify(report, null, 2)}\n`;
    for (const file of [
      join(outDir, `${bench.name}-${stamp}.json`),
      join(outDir, `${bench.name}-latest.json`),
    ]) {
      await writeFile(file, json);
      files.push(file);
    }
    print(`  wrote ${files[0]}`);
  }
  return { report, files };
}
