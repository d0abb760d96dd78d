import { describe, expect, it } from 'vitest';
import { fmtNum, fmtShare, formatSummaryTable } from './format.ts';
import type { BenchReport } from './harness.ts';

describe('format', () => {
  it('prints numbers with 3 significant digits and k/M/G suffixes', () => {
    expect([0, 7, 12.345, 0.1234, 999, 12_345, 1_234_567, 2.5e9].map(fmtNum)).toEqual([
      '0',
      '7',
      '12.3',
      '0.123',
      '999',
      '12.3k',
      '1.23M',
      '2.50G',
    ]);
    expect(fmtNum(Number.NaN)).toBe('NaN');
    expect([fmtShare(null), fmtShare(0.2345)]).toEqual(['n/a', '23.4%']);
  });

  it('lays out the summary table with aligned columns', () => {
    const report = {
      name: 'x',
      ok: true,
      durationSeconds: 1.25,
      machine: { cpus: 2, loadavg: [0.5, 0.25, 0] },
      otherCpuShare: 0.125,
      measurements: [
        {
          label: 'a',
          opsPerSec: { median: 1500, min: 1000, max: 2000 },
          cpuUsPerOp: { median: 3.5, min: 3, max: 4 },
          otherCpuShare: 0.5,
          noisy: true,
        },
      ],
      latencies: [],
      ratios: [{ label: 'r', numerator: 'a', denominator: 'a', value: 1 }],
    } as unknown as BenchReport;
    expect(formatSummaryTable(report)).toEqual([
      '',
      '  measurement  ops/s (median)   min   max  CPU-µs/op  other CPU',
      '  -----------  --------------  ----  ----  ---------  ---------  -------',
      '  a                      1500  1000  2000       3.50      50.0%  ⚠ noisy',
      '',
      '  ratio  value  numerator / denominator',
      '  -----  -----  -----------------------',
      '  r       1.00                    a / a',
      '',
      '  ✓ x in 1.3 s on 2 CPUs, load 0.50 0.25 0.00, other processes 12.5% CPU',
    ]);
  });
});
