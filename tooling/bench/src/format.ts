import type { BenchReport, LatencyRecord, Measurement, ParamValue, Ratio } from './harness.ts';

/** Formats a number with 3 significant digits and a k/M/G suffix for large values. */
export function fmtNum(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toPrecision(3)}k`;
  if (abs >= 100 || n === 0 || Number.isInteger(n)) return n.toFixed(0);
  return n.toPrecision(3);
}

/** Formats a 0..1 share as a percentage, or `n/a` for `null`. */
export function fmtShare(share: number | null): string {
  return share === null ? 'n/a' : `${(share * 100).toFixed(1)}%`;
}

/** The printed lines for declared parameters. */
export function formatParams(obj: Readonly<Record<string, ParamValue>>): string[] {
  return Object.entries(obj).map(([k, v]) => `  param ${k} = ${String(v)}`);
}

/** The printed line for one measurement. */
export function formatMeasurement(m: Measurement): string {
  const flag = m.noisy ? '  ⚠ NOISY: other processes used ' + fmtShare(m.otherCpuShare) + ' CPU' : '';
  return (
    `  ${m.label}: ${fmtNum(m.opsPerSec.median)} ops/s ` +
    `(min ${fmtNum(m.opsPerSec.min)}, max ${fmtNum(m.opsPerSec.max)}, ${m.reps} reps), ` +
    `${fmtNum(m.cpuUsPerOp.median)} CPU-µs/op` +
    (m.processCpuUsPerOp === undefined ? '' : ` (+${fmtNum(m.processCpuUsPerOp.median)} in its servers)`) +
    `, other CPU ${fmtShare(m.otherCpuShare)}${flag}`
  );
}

/** The printed line for one ratio. */
export function formatRatio(r: Ratio): string {
  return `  ratio ${r.label} = ${r.value.toPrecision(3)} (${r.numerator} / ${r.denominator})`;
}

/** The printed line for one latency distribution. */
export function formatLatency(l: LatencyRecord): string {
  return (
    `  ${l.label}: p50 ${fmtNum(l.p50)} ${l.unit}, p90 ${fmtNum(l.p90)}, p99 ${fmtNum(l.p99)}, ` +
    `p99.9 ${fmtNum(l.p999)}, max ${fmtNum(l.max)} ${l.unit} (n=${l.count})`
  );
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    '  ' +
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ('  ' + widths.map((w) => '-'.repeat(w)).join('  ')).trimEnd(), ...rows.map(line)];
}

/** The summary table printed at the end of a run: one row per measurement, then latencies and ratios. */
export function formatSummaryTable(report: BenchReport): string[] {
  const out: string[] = [];
  if (report.measurements.length > 0) {
    const servers = report.measurements.some((m) => m.processCpuUsPerOp !== undefined);
    out.push('');
    out.push(
      ...table(
        [
          'measurement',
          'ops/s (median)',
          'min',
          'max',
          'CPU-µs/op',
          ...(servers ? ['servers CPU-µs/op'] : []),
          'other CPU',
          '',
        ],
        report.measurements.map((m) => [
          m.label,
          fmtNum(m.opsPerSec.median),
          fmtNum(m.opsPerSec.min),
          fmtNum(m.opsPerSec.max),
          fmtNum(m.cpuUsPerOp.median),
          ...(servers ? [m.processCpuUsPerOp === undefined ? '' : fmtNum(m.processCpuUsPerOp.median)] : []),
          fmtShare(m.otherCpuShare),
          m.noisy ? '⚠ noisy' : '',
        ]),
      ),
    );
  }
  if (report.latencies.length > 0) {
    out.push('');
    out.push(
      ...table(
        ['latency', 'unit', 'p50', 'p90', 'p99', 'p99.9', 'max', 'n'],
        report.latencies.map((l) => [
          l.label,
          l.unit,
          fmtNum(l.p50),
          fmtNum(l.p90),
          fmtNum(l.p99),
          fmtNum(l.p999),
          fmtNum(l.max),
          String(l.count),
        ]),
      ),
    );
  }
  if (report.ratios.length > 0) {
    out.push('');
    out.push(
      ...table(
        ['ratio', 'value', 'numerator / denominator'],
        report.ratios.map((r) => [r.label, r.value.toPrecision(3), `${r.numerator} / ${r.denominator}`]),
      ),
    );
  }
  out.push('');
  out.push(
    `  ${report.ok ? '✓' : '✗'} ${report.name} in ${report.durationSeconds.toFixed(1)} s` +
      ` on ${report.machine.cpus} CPUs, load ${report.machine.loadavg.map((l) => l.toFixed(2)).join(' ')},` +
      ` other processes ${fmtShare(report.otherCpuShare)} CPU`,
  );
  return out;
}
