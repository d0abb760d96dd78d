import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bench, BenchReport } from './harness.ts';
import { runBench } from './runner.ts';
import {
  median,
  otherCpuShare,
  parsePidStatTicks,
  parseProcStat,
  percentileOfSorted,
  spread,
  summarizeLatencies,
} from './stats.ts';

describe('/proc/<pid>/stat', () => {
  it('sums utime and stime after a command name holding spaces and parentheses', () => {
    const line = '4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 5 0 0';
    expect(parsePidStatTicks(line)).toBe(325);
  });

  it('rejects text that is not a stat line with INVALID_CONFIG', () => {
    expect(() => parsePidStatTicks('garbage')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => parsePidStatTicks('1 (a) S 1 2')).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });
});

describe('statistics', () => {
  it('takes the median of odd and even counts without reordering the input', () => {
    const odd = [5, 1, 3];
    expect(median(odd)).toBe(3);
    expect(odd).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('reports median with min–max', () => {
    expect(spread([10, 30, 20, 50])).toEqual({ median: 25, min: 10, max: 50 });
  });

  it('rejects empty and non-finite samples with INVALID_CONFIG', () => {
    expect(() => median([])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => spread([1, Number.NaN])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => percentileOfSorted([1], 0)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('uses nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentileOfSorted(sorted, 50)).toBe(50);
    expect(percentileOfSorted(sorted, 99)).toBe(99);
    expect(percentileOfSorted(sorted, 100)).toBe(100);
    expect(percentileOfSorted([3, 9], 50)).toBe(3);
    const s = summarizeLatencies([...sorted].reverse());
    expect(s).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, p999: 100, mean: 50.5, min: 1, max: 100 });
  });
});

describe('/proc/stat', () => {
  const text = [
    'cpu  100 20 30 800 50 5 5 0 40 0',
    'cpu0 50 10 15 400 25 2 3 0 20 0',
    'cpu1 50 10 15 400 25 3 2 0 20 0',
    'intr 12345 0 0',
    'ctxt 999',
  ].join('\n');

  it('sums busy and total ticks, leaving guest time out (it is inside user)', () => {
    // busy = user+nice+system+irq+softirq+steal = 100+20+30+5+5+0; total adds idle 800 + iowait 50
    expect(parseProcStat(text)).toEqual({ busy: 160, total: 1010, cpus: 2 });
  });

  it('accepts old kernels with only four fields', () => {
    expect(parseProcStat('cpu 1 2 3 4\ncpu0 1 2 3 4\n')).toEqual({ busy: 6, total: 10, cpus: 1 });
  });

  it('rejects text without a cpu line', () => {
    expect(() => parseProcStat('intr 1\n')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => parseProcStat('cpu a b c d\n')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('derives the other processes’ share from busy ticks minus own CPU time', () => {
    const before = { busy: 1000, total: 10_000, cpus: 2 };
    // 1 s wall on 2 CPUs = 200 ticks at 100 Hz; 120 of them busy: 60% of the machine.
    const after = { busy: 1120, total: 10_200, cpus: 2 };
    // we used 0.5 s CPU of 2 CPU-seconds: 25%, so others used 35%.
    expect(otherCpuShare(before, after, 500_000, 1_000_000)).toBeCloseTo(0.35, 10);
    // Our own CPU time above the machine's busy share clamps to 0.
    expect(otherCpuShare(before, after, 2_000_000, 1_000_000)).toBe(0);
    expect(otherCpuShare(before, before, 0, 1_000_000)).toBeNull();
  });
});

describe('runBench', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'flotilla-bench-'));
    dirs.push(d);
    return d;
  };

  it('records params, measurements, ratios, latencies and notes, and writes the JSON twice', async () => {
    const outDir = await tempDir();
    let calls = 0;
    const fake: Bench = {
      name: 'fake',
      description: 'a tiny fake bench',
      async run(ctx) {
        ctx.params({ n: ctx.pick(1000, 10), mode: 'test' });
        await ctx.measure('fast', { opsPerRep: 10, reps: 4, warmup: 2 }, () => {
          calls += 1;
        });
        await ctx.measure('slow', { opsPerRep: 10 }, async () => {
          await new Promise((r) => setTimeout(r, 30));
        });
        ctx.ratio('fast/slow', 'fast', 'slow');
        ctx.latency('lat', [3, 1, 2], 'ms');
        ctx.note('hello');
        ctx.result({ extra: 42 });
      },
    };
    const lines: string[] = [];
    // Every read adds 100 busy ticks and no idle ones: the whole machine busy between any two reads.
    let reads = 0;
    const stat = (): string => {
      const busy = 100 * ++reads;
      return `cpu ${busy} 0 0 900 0 0 0 0\ncpu0 ${busy} 0 0 900 0 0 0 0\n`;
    };
    const { report, files } = await runBench(fake, {
      quick: true,
      outDir,
      print: (l) => lines.push(l),
      readProcStat: stat,
      // Whether this process exposes gc() must not change the notes (the runner test covers settling).
      settleHeap: null,
    });
    // quick caps warm-up at 1: 1 + 4 measured calls
    expect(calls).toBe(5);
    expect(report.ok).toBe(true);
    expect(report.params).toEqual({ n: 10, mode: 'test' });
    expect(report.measurements.map((m) => [m.label, m.reps, m.warmup, m.repSeconds.length])).toEqual([
      ['fast', 4, 1, 4],
      ['slow', 3, 1, 3],
    ]);
    const [fast, slow] = report.measurements;
    expect(fast!.opsPerSec.min).toBeLessThanOrEqual(fast!.opsPerSec.median);
    expect(fast!.opsPerSec.median).toBeLessThanOrEqual(fast!.opsPerSec.max);
    // each slow rep sleeps 30 ms (timers may fire ~1 ms early) for 10 ops: at most ~345 ops/s
    expect(slow!.opsPerSec.max).toBeLessThanOrEqual(350);
    expect(slow!.otherCpuShare).not.toBeNull();
    // /proc/stat is read around each repetition: 3 reps × 100 ticks.
    expect(slow!.procStatTicks).toBe(300);
    expect(slow!.noisy).toBe(true);
    expect(report.ratios).toEqual([
      {
        label: 'fast/slow',
        numerator: 'fast',
        denominator: 'slow',
        value: fast!.opsPerSec.median / slow!.opsPerSec.median,
      },
    ]);
    expect(report.latencies[0]).toMatchObject({ label: 'lat', unit: 'ms', p50: 2, max: 3, count: 3 });
    expect(report.notes).toEqual(['hello']);
    expect(report.results).toEqual({ extra: 42 });
    expect(report.machine.node).toBe(process.version);
    // run start, 2 per repetition (4 + 3), run end
    expect(reads).toBe(16);
    expect(report.otherCpuShare).toBeGreaterThan(0.2);
    expect(lines.some((l) => l.includes('NOISY'))).toBe(true);

    expect(files).toHaveLength(2);
    expect((await readdir(outDir)).sort()).toEqual(
      [files[0]!.slice(outDir.length + 1), 'fake-latest.json'].sort(),
    );
    expect(files[0]).toMatch(/fake-\d{4}-\d\d-\d\dT[\d-]+Z\.json$/);
    const written = JSON.parse(await readFile(files[1]!, 'utf8')) as BenchReport;
    expect(written).toEqual(JSON.parse(JSON.stringify(report)));
  });
});
