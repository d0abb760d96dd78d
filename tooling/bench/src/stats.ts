import { InvalidConfigError } from '@flotilla/types';

/** The median, minimum and maximum of a set of samples. */
export interface Spread {
  /** The median (mean of the two middle values for an even count). */
  readonly median: number;
  /** The smallest sample. */
  readonly min: number;
  /** The largest sample. */
  readonly max: number;
}

/** A latency distribution summary; every figure is in the unit the samples were given in. */
export interface LatencySummary {
  /** How many samples. */
  readonly count: number;
  /** The 50th percentile (nearest rank). */
  readonly p50: number;
  /** The 90th percentile (nearest rank). */
  readonly p90: number;
  /** The 99th percentile (nearest rank). */
  readonly p99: number;
  /** The 99.9th percentile (nearest rank). */
  readonly p999: number;
  /** The arithmetic mean. */
  readonly mean: number;
  /** The smallest sample. */
  readonly min: number;
  /** The largest sample. */
  readonly max: number;
}

function requireSamples(values: readonly number[], what: string): void {
  if (values.length === 0) throw new InvalidConfigError(what, 'needs at least one sample');
  for (const v of values) {
    if (!Number.isFinite(v)) throw new InvalidConfigError(what, `sample ${String(v)} is not finite`);
  }
}

/**
 * The median of `values` (mean of the two middle values for an even count).
 *
 * @throws InvalidConfigError (`INVALID_CONFIG`) on an empty list or a non-finite sample.
 */
export function median(values: readonly number[]): number {
  requireSamples(values, 'median');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[mid]!;
  return (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median, minimum and maximum of `values`.
 *
 * @throws InvalidConfigError (`INVALID_CONFIG`) on an empty list or a non-finite sample.
 */
export function spread(values: readonly number[]): Spread {
  requireSamples(values, 'spread');
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { median: median(values), min, max };
}

/**
 * The nearest-rank percentile `p` (0 < p ≤ 100) of samples already sorted ascending.
 *
 * @throws InvalidConfigError (`INVALID_CONFIG`) on an empty list or `p` out of range.
 */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new InvalidConfigError('percentile', 'needs at least one sample');
  if (!(p > 0 && p <= 100)) throw new InvalidConfigError('percentile', `p must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/**
 * Summarises latency samples: nearest-rank p50/p90/p99/p99.9, mean, min and max.
 *
 * @throws InvalidConfigError (`INVALID_CONFIG`) on an empty list or a non-finite sample.
 */
export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  requireSamples(samples, 'latency');
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  let sum = 0;
  for (const v of list) sum += v;
  return {
    count: list.length,
    p50: percentileOfSorted(list, 50),
    p90: percentileOfSorted(list, 90),
    p99: percentileOfSorted(list, 99),
    p999: percentileOfSorted(list, 99.9),
    mean: sum / list.length,
    min: list[0]!,
    max: list[list.length - 1]!,
  };
}

/**
 * The aggregate CPU time counters of `/proc/stat`'s `cpu` line, in clock ticks (jiffies), plus the
 * number of CPUs (`cpuN` lines) the kernel reports.
 */
export interface ProcStatSample {
  /** Ticks spent busy: every field except `idle` and `iowait` (`guest` fields are already in `user`). */
  readonly busy: number;
  /** Ticks in total: busy plus `idle` plus `iowait`. */
  readonly total: number;
  /** How many `cpuN` lines there were. */
  readonly cpus: number;
}

/**
 * Parses the text of `/proc/stat`.
 *
 * The first line reads `cpu user nice system idle iowait irq softirq steal guest guest_nice`; older
 * kernels print fewer fields. `guest` and `guest_nice` are already counted in `user` and `nice`, so they
 * are left out of the sums.
 *
 * @throws InvalidConfigError (`INVALID_CONFIG`, field `procStat`) when there is no well-formed `cpu` line.
 */
export function parseProcStat(text: string): ProcStatSample {
  let aggregate: number[] | null = null;
  let cpus = 0;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const head = fields[0];
    if (head === 'cpu') {
      aggregate = fields.slice(1).map((f) => Number(f));
    } else if (head !== undefined && /^cpu\d+$/.test(head)) {
      cpus += 1;
    }
  }
  if (aggregate === null || aggregate.length < 4 || aggregate.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new InvalidConfigError('procStat', 'no well-formed aggregate "cpu" line');
  }
  // user nice system idle iowait irq softirq steal (guest guest_nice are inside user/nice)
  const counted = aggregate.slice(0, 8);
  const idle = (counted[3] ?? 0) + (counted[4] ?? 0);
  const total = counted.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total, cpus: Math.max(cpus, 1) };
}

/**
 * The share of the whole machine's CPU capacity (0..1) that other processes used between two
 * `/proc/stat` samples: the machine's busy fraction minus this process's own fraction.
 *
 * This process's fraction is `ownCpuMicros / (wallMicros × cpus)`, which needs no clock-tick constant.
 * The result is clamped to `[0, 1]` (sampling granularity can make it dip slightly below zero).
 *
 * @param before - the sample taken when the run started.
 * @param after - the sample taken when the run ended.
 * @param ownCpuMicros - this process's CPU time (user + system, all threads) over the run.
 * @param wallMicros - the run's wall-clock duration.
 * @returns the share, or `null` when the samples span no ticks or no time.
 */
export function otherCpuShare(
  before: ProcStatSample,
  after: ProcStatSample,
  ownCpuMicros: number,
  wallMicros: number,
): number | null {
  const total = after.total - before.total;
  if (total <= 0 || wallMicros <= 0) return null;
  const busyFraction = (after.busy - before.busy) / total;
  const ownFraction = ownCpuMicros / (wallMicros * after.cpus);
  return Math.min(1, Math.max(0, busyFraction - ownFraction));
}

/**
 * The CPU time (user + system, in clock ticks) in the text of `/proc/<pid>/stat`: fields 14 and 15,
 * counted after the command name's closing parenthesis (the name may hold spaces).
 *
 * @throws InvalidConfigError (`INVALID_CONFIG`, field `pidStat`) when the text is not such a line.
 */
export function parsePidStatTicks(text: string): number {
  const close = text.lastIndexOf(')');
  const rest = close < 0 ? [] : text.slice(close + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (rest.length < 13 || !Number.isFinite(utime) || !Number.isFinite(stime) || utime < 0 || stime < 0) {
    throw new InvalidConfigError('pidStat', 'not a /proc/<pid>/stat line');
  }
  return utime + stime;
}
