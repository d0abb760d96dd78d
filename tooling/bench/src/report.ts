/**
 * `BENCHMARKS.md` from the JSON reports: one section per benchmark (its command, machine, noise
 * figure, measurements, latencies, ratios, other figures and notes) and, first, the performance
 * goals of issue 14 checked against the figures (each a ratio measured in one run).
 *
 * @module
 */
import { fmtNum, fmtShare } from './format.ts';
import type { BenchReport, LatencyRecord, Measurement } from './harness.ts';
import { median } from './stats.ts';

/** A goal's verdict: met, missed, or not measured (no report, or the figure is absent). */
export interface GoalCheck {
  readonly goal: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
  readonly hardFloor?: boolean;
}

type Reports = ReadonlyMap<string, BenchReport>;

const m = (r: BenchReport | undefined, label: string): Measurement | undefined =>
  r?.measurements.find((x) => x.label === label);
const ratio = (r: BenchReport | undefined, label: string): number | undefined =>
  r?.ratios.find((x) => x.label === label)?.value;
const lat = (r: BenchReport | undefined, label: string): LatencyRecord | undefined =>
  r?.latencies.find((x) => x.label === label);
const res = (r: BenchReport | undefined, key: string): number | undefined => {
  const v = r?.results[key];
  return typeof v === 'number' ? v : undefined;
};
const x = (v: number) => `${v.toFixed(2)}×`;

function check(
  goal: string,
  target: string,
  values: (number | undefined)[],
  show: (...v: number[]) => string,
  ok: (...v: number[]) => boolean,
  hardFloor = false,
): GoalCheck {
  if (values.some((v) => v === undefined || !Number.isFinite(v))) {
    return { goal, target, measured: 'not measured', met: null, hardFloor };
  }
  const vs = values as number[];
  return { goal, target, measured: show(...vs), met: ok(...vs), hardFloor };
}

/** The goals and hard floors of issue 14, checked against `reports` (by benchmark name). */
export function checkGoals(reports: Reports): GoalCheck[] {
  const cm = reports.get('cluster-memory');
  const pl = reports.get('pipelining');
  const du = reports.get('cluster-durable');
  const ke = reports.get('kv-vs-etcd');
  const sc = reports.get('scaling');
  const ops = (r: BenchReport | undefined, l: string) => m(r, l)?.opsPerSec.median;
  const cpu = (r: BenchReport | undefined, l: string) => m(r, l)?.cpuUsPerOp.median;
  const out: GoalCheck[] = [
    check(
      'in-process, 1 client',
      '≥ 40,000 writes/s',
      [ops(cm, 'raft C=1')],
      (v) => `${fmtNum(v)}/s`,
      (v) => v >= 40_000,
    ),
    check(
      'in-process, 256 clients',
      '≥ 300,000 writes/s and ≤ 5 CPU-µs/write',
      [ops(cm, 'raft C=256'), cpu(cm, 'raft C=256')],
      (v, c) => `${fmtNum(v)}/s, ${fmtNum(c)} CPU-µs`,
      (v, c) => v >= 300_000 && c <= 5,
    ),
    check(
      'in-process, 4,096 clients',
      '≥ 90% of the 256-client figure',
      [ratio(cm, 'raft C=4096 / C=256')],
      x,
      (v) => v >= 0.9,
    ),
    check(
      'in-process, 4,096 clients, no uncommitted limit (the default)',
      '≥ 90% of the 256-client figure',
      [ratio(cm, 'raft C=4096 no limit / C=256')],
      x,
      (v) => v >= 0.9,
    ),
    check(
      'pipelining, 1 ms, 1,024 clients',
      'pipelined ≥ 6× one-in-flight',
      [ratio(pl, 'pipelined/one-in-flight 1ms C=1024')],
      x,
      (v) => v >= 6,
    ),
    check(
      'pipelining control (0 ms), 1,024 clients',
      '0.9–1.2×',
      [ratio(pl, 'control: pipelined/one-in-flight 0ms C=1024')],
      x,
      (v) => v >= 0.9 && v <= 1.2,
    ),
    ...[256, 1024].map((c) =>
      check(
        `pipelining, default config, ${c} clients`,
        '1 ms delay ≥ 90% of 0 ms',
        [ratio(pl, `default 1ms/0ms C=${c}`)],
        x,
        (v) => v >= 0.9,
      ),
    ),
    check(
      'durable, 1 client',
      'p50 commit ≤ 1.5× the floor’s p50',
      [lat(du, 'raft C=1 commit')?.p50, lat(du, 'floor C=1 commit')?.p50],
      (a, b) => `${fmtNum(a)} ms vs ${fmtNum(b)} ms (${x(a / b)})`,
      (a, b) => a <= 1.5 * b,
    ),
    check('durable, 256 clients', '≥ 45% of the floor', [ratio(du, 'raft/floor C=256')], x, (v) => v >= 0.45),
  ];
  for (const c of [64, 256]) {
    out.push(
      check(
        `kv vs etcd, writes, ${c} clients`,
        '≥ 1.5× etcd’s writes/s, server CPU/write ≤ 0.5×',
        [ratio(ke, `kv/etcd write C=${c}`), res(ke, `kv/etcd write C=${c} serverCpuPerOp`)],
        (a, b) => `${x(a)} writes/s, ${x(b)} CPU`,
        (a, b) => a >= 1.5 && b <= 0.5,
      ),
      check(
        `hard floor: kv vs etcd, writes, ${c} clients`,
        '≥ 1.0× writes/s, CPU/write ≤ 1.0×',
        [ratio(ke, `kv/etcd write C=${c}`), res(ke, `kv/etcd write C=${c} serverCpuPerOp`)],
        (a, b) => `${x(a)} writes/s, ${x(b)} CPU`,
        (a, b) => a >= 1 && b <= 1,
        true,
      ),
    );
  }
  const k1 = lat(ke, 'kv write C=1 latency');
  const e1 = lat(ke, 'etcd write C=1 latency');
  out.push(
    check(
      'kv vs etcd, 1 client',
      'p50 and p99 ≤ etcd’s',
      [k1?.p50, e1?.p50, k1?.p99, e1?.p99],
      (a, b, c, d) => `p50 ${fmtNum(a)} vs ${fmtNum(b)} ms, p99 ${fmtNum(c)} vs ${fmtNum(d)} ms`,
      (a, b, c, d) => a <= b && c <= d,
    ),
    check(
      'hard floor: kv vs etcd, 1 client',
      'p50 ≤ etcd’s',
      [k1?.p50, e1?.p50],
      (a, b) => `${fmtNum(a)} vs ${fmtNum(b)} ms`,
      (a, b) => a <= b,
      true,
    ),
    check(
      'kv vs etcd, linearizable reads, 64 clients',
      '≥ 2× etcd’s reads/s',
      [ratio(ke, 'kv/etcd read C=64')],
      x,
      (v) => v >= 2,
    ),
    check(
      'hard floor: linearizable reads, 64 clients',
      '≥ 1.0× etcd’s',
      [ratio(ke, 'kv/etcd read C=64')],
      x,
      (v) => v >= 1,
      true,
    ),
    check(
      'scaling, 5/3 voters',
      'kv ≥ 0.70 and ≥ etcd’s 5/3',
      [ratio(sc, 'kv 5/3 voters'), ratio(sc, 'etcd 5/3 voters')],
      (a, b) => `kv ${x(a)}, etcd ${x(b)}`,
      (a, b) => a >= 0.7 && a >= b,
    ),
    check(
      'hard floor: no collapse',
      '4,096 clients ≥ 90% of 256',
      [ratio(cm, 'raft C=4096 / C=256')],
      x,
      (v) => v >= 0.9,
      true,
    ),
    check(
      'hard floor: in-process, 256 clients',
      '≥ 150,000 writes/s',
      [ops(cm, 'raft C=256')],
      (v) => `${fmtNum(v)}/s`,
      (v) => v >= 150_000,
      true,
    ),
  );
  return out;
}

/** The command that reproduces `r`. */
export function commandOf(r: BenchReport): string {
  return ['pnpm bench', r.name, ...(r.quick ? ['--quick'] : []), ...r.args].join(' ');
}

/** The noise figure of a run: the median of its measurements' other-process CPU share, and the run's. */
export function noiseOf(r: BenchReport): string {
  const shares = r.measurements.map((x) => x.otherCpuShare).filter((s): s is number => s !== null);
  const noisy = r.measurements.filter((x) => x.noisy).length;
  const servers = r.measurements.some((x) => x.processCpuUsPerOp !== undefined);
  const whole =
    `${fmtShare(r.otherCpuShare)} over the whole run` +
    (servers ? ', where the benchmark’s own servers count as other processes' : '');
  const load = `load average at start ${r.machine.loadavg.map((l) => l.toFixed(2)).join(' ')}`;
  if (shares.length === 0) return `no timed measurements; other processes used ${whole}; ${load}`;
  return (
    `other processes used ${fmtShare(median(shares))} of the machine's CPU during the measurements ` +
    `(median; ${whole}); ${noisy} of ${r.measurements.length} measurements above the ` +
    `${fmtShare(r.noiseThreshold)} noise threshold; ${load}`
  );
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

function mdTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: (column: number) => boolean = (i) => i > 0,
): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (numeric(i) ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
}

function section(r: BenchReport): string[] {
  const out: string[] = [`## ${r.name}`, '', r.description, ''];
  out.push('```sh', commandOf(r), '```', '');
  out.push(
    `Run ${r.startedAt} (${r.durationSeconds.toFixed(1)} s, ${r.quick ? 'quick' : 'full'}${r.ok ? '' : `, FAILED: ${r.error?.code ?? r.error?.name}: ${r.error?.message}`}) on ` +
      `${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}, Linux ${r.machine.kernel}.`,
    '',
    `**Noise:** ${noiseOf(r)}.`,
    '',
  );
  const params = Object.entries(r.params);
  if (params.length > 0)
    out.push(`Parameters: ${params.map(([k, v]) => `${k} = ${String(v)}`).join('; ')}.`, '');
  if (r.measurements.length > 0) {
    const servers = r.measurements.some((x) => x.processCpuUsPerOp !== undefined);
    out.push(
      ...mdTable(
        [
          'measurement',
          'ops/s median',
          'min – max',
          'CPU-µs/op (this process)',
          ...(servers ? ['servers CPU-µs/op'] : []),
          'other CPU',
        ],
        r.measurements.map((x) => [
          x.label,
          fmtNum(x.opsPerSec.median),
          `${fmtNum(x.opsPerSec.min)} – ${fmtNum(x.opsPerSec.max)}`,
          fmtNum(x.cpuUsPerOp.median),
          ...(servers ? [x.processCpuUsPerOp === undefined ? '' : fmtNum(x.processCpuUsPerOp.median)] : []),
          `${fmtShare(x.otherCpuShare)}${x.noisy ? ' ⚠' : ''}`,
        ]),
      ),
      '',
    );
  }
  if (r.latencies.length > 0) {
    out.push(
      ...mdTable(
        ['latency', 'p50', 'p90', 'p99', 'p99.9', 'max', 'n'],
        r.latencies.map((l) => [
          `${l.label} (${l.unit})`,
          fmtNum(l.p50),
          fmtNum(l.p90),
          fmtNum(l.p99),
          fmtNum(l.p999),
          fmtNum(l.max),
          String(l.count),
        ]),
      ),
      '',
    );
  }
  if (r.ratios.length > 0) {
    out.push(
      ...mdTable(
        ['ratio (same run)', 'value', 'numerator / denominator'],
        r.ratios.map((x) => [x.label, x.value.toPrecision(3), `${x.numerator} / ${x.denominator}`]),
        (i) => i === 1,
      ),
      '',
    );
  }
  const results = Object.entries(r.results);
  if (results.length > 0) {
    out.push(
      ...mdTable(
        ['figure', 'value'],
        results.map(([k, v]) => [k, typeof v === 'number' ? fmtNum(v) : JSON.stringify(v)]),
      ),
      '',
    );
  }
  for (const n of r.notes) out.push(`- ${n}`);
  if (r.notes.length > 0) out.push('');
  return out;
}

/** The order sections appear in (others follow, by name). */
export const SECTION_ORDER = [
  'cluster-memory',
  'pipelining',
  'cluster-durable',
  'kv-vs-etcd',
  'scaling',
  'kv-memory',
  'calibrate-fsync',
  'calibrate-loopback',
  'calibrate-msgpackr',
];

/** Renders `BENCHMARKS.md` from the latest report of each benchmark (smoke reports are skipped). */
export function renderBenchmarks(all: readonly BenchReport[]): string {
  const reports = new Map<string, BenchReport>();
  for (const r of all) if (r.smoke !== true) reports.set(r.name, r);
  const names = [...reports.keys()].sort((a, b) => {
    const ia = SECTION_ORDER.indexOf(a);
    const ib = SECTION_ORDER.indexOf(b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || a.localeCompare(b);
  });
  const goals = checkGoals(reports);
  const mark = (g: GoalCheck) => (g.met === null ? '—' : g.met ? '✓' : '✗');
  const out = [
    '# Benchmarks',
    '',
    '<!-- Generated by `pnpm --filter @flotilla/bench run report` from bench-results/*-latest.json; do not edit. -->',
    '',
    'Every figure is a ratio to a calibration or a peer measured **in the same run** (see',
    '[tooling/bench/README.md](tooling/bench/README.md)). Each section gives the command that produced',
    'it and the machine’s noise figure: the share of CPU other processes used while it measured. A',
    'figure measured on a loaded machine (other CPU above 20 %, marked ⚠) is a smoke signal, not a result.',
    '',
    '## Goals (issue 14)',
    '',
    ...mdTable(
      ['goal', 'target', 'measured', 'met'],
      goals.map((g) => [g.hardFloor ? `**${g.goal}**` : g.goal, g.target, g.measured, mark(g)]),
      () => false,
    ),
    '',
    'Hard floors in bold. Each row reads the latest report of its benchmark (below): check that',
    'section’s command (`--quick` or not) and noise figure before trusting a ✓ or a ✗.',
    '',
    `Benchmarks: ${names.map((n) => `[${n}](#${n})`).join(', ')}.`,
    '',
  ];
  for (const n of names) out.push(...section(reports.get(n) as BenchReport));
  return `${out.join('\n').trimEnd()}\n`;
}
