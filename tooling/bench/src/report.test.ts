import { describe, expect, it } from 'vitest';
import type { BenchReport, Measurement } from './harness.ts';
import { checkGoals, commandOf, renderBenchmarks } from './report.ts';

const machine = {
  cpus: 2,
  cpuModel: 'Test CPU',
  availableParallelism: 2,
  loadavg: [1, 1, 1],
  totalMemBytes: 1,
  node: 'v20.0.0',
  platform: 'linux',
  arch: 'x64',
  kernel: '6.1',
};

function meas(label: string, ops: number, cpu = 1, other = 0.05, servers?: number): Measurement {
  return {
    label,
    opsPerRep: 1,
    reps: 3,
    warmup: 1,
    opsPerSec: { median: ops, min: ops * 0.9, max: ops * 1.1 },
    cpuUsPerOp: { median: cpu, min: cpu, max: cpu },
    ...(servers === undefined ? {} : { processCpuUsPerOp: { median: servers, min: servers, max: servers } }),
    repSeconds: [1, 1, 1],
    otherCpuShare: other,
    procStatTicks: 300,
    noisy: other > 0.2,
  };
}

function report(name: string, extra: Partial<BenchReport>): BenchReport {
  return {
    schema: 1,
    name,
    description: `${name} description`,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationSeconds: 1,
    quick: true,
    budgetMs: 1,
    args: [],
    params: { n: 1 },
    measurements: [],
    ratios: [],
    latencies: [],
    results: {},
    notes: [],
    machine,
    noiseThreshold: 0.2,
    otherCpuShare: 0.1,
    ok: true,
    error: null,
    ...extra,
  };
}

describe('BENCHMARKS.md', () => {
  const cm = report('cluster-memory', {
    measurements: [
      meas('raft C=1', 50_000),
      meas('raft C=256', 200_000, 6, 0.3),
      meas('raft C=4096', 100_000),
    ],
    ratios: [
      { label: 'raft C=4096 / C=256', numerator: 'raft C=4096', denominator: 'raft C=256', value: 0.5 },
    ],
  });
  const ke = report('kv-vs-etcd', {
    measurements: [meas('kv write C=64', 10, 1, 0.1, 50)],
    latencies: [
      {
        label: 'kv write C=1 latency',
        unit: 'ms',
        count: 3,
        p50: 1,
        p90: 2,
        p99: 3,
        p999: 3,
        mean: 1,
        min: 1,
        max: 3,
      },
      {
        label: 'etcd write C=1 latency',
        unit: 'ms',
        count: 3,
        p50: 2,
        p90: 2,
        p99: 2,
        p999: 2,
        mean: 2,
        min: 1,
        max: 2,
      },
    ],
  });

  it('checks each goal against the figures: met, missed, or not measured', () => {
    const goals = new Map(
      checkGoals(
        new Map([
          ['cluster-memory', cm],
          ['kv-vs-etcd', ke],
        ]),
      ).map((g) => [g.goal, g]),
    );
    expect(goals.get('in-process, 1 client')?.met).toBe(true);
    expect(goals.get('in-process, 256 clients')?.met).toBe(false); // 200k/s and 6 µs
    expect(goals.get('hard floor: in-process, 256 clients')?.met).toBe(true);
    expect(goals.get('hard floor: no collapse')).toMatchObject({
      met: false,
      measured: '0.50×',
      hardFloor: true,
    });
    expect(goals.get('kv vs etcd, 1 client')?.met).toBe(false); // p99 3 > 2
    expect(goals.get('hard floor: kv vs etcd, 1 client')?.met).toBe(true);
    expect(goals.get('durable, 256 clients')).toMatchObject({ met: null, measured: 'not measured' });
  });

  it('gives each section its command, noise figure and tables, and skips smoke reports', () => {
    const smoke = report('pipelining', { smoke: true });
    const md = renderBenchmarks([cm, ke, smoke]);
    expect(md).toContain('```sh\npnpm bench cluster-memory --quick\n```');
    expect(md).toMatch(
      /\*\*Noise:\*\* other processes used 5\.0% .*1 of 3 measurements above the 20\.0% noise threshold/,
    );
    expect(md).toContain('| raft C=256 | 200k | 180k – 220k | 6 | 30.0% ⚠ |');
    expect(md).toContain('servers CPU-µs/op');
    expect(md).not.toContain('## pipelining');
    expect(md.indexOf('## cluster-memory')).toBeLessThan(md.indexOf('## kv-vs-etcd'));
    expect(commandOf(report('x', { quick: false, args: ['--dir=/d'] }))).toBe('pnpm bench x --dir=/d');
  });
});
