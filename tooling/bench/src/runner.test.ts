import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bench } from './harness.ts';
import { runBench } from './runner.ts';

describe('runBench failures', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'flotilla-bench-'));
    dirs.push(d);
    return d;
  };

  it('writes a failed report when the bench throws, and rejects misuse with INVALID_CONFIG', async () => {
    const outDir = await tempDir();
    const codes: (string | undefined)[] = [];
    const bad: Bench = {
      name: 'bad',
      description: 'misuses the context',
      async run(ctx) {
        for (const attempt of [
          () => ctx.measure('x', { opsPerRep: 1, reps: 2 }, () => {}),
          () => ctx.measure('x', { opsPerRep: 0 }, () => {}),
          async () => ctx.ratio('r', 'missing', 'missing'),
        ]) {
          codes.push(
            await attempt().then(
              () => undefined,
              (e: { code?: string }) => e.code,
            ),
          );
        }
        await ctx.measure('once', { opsPerRep: 1, warmup: 0 }, () => {});
        await ctx.measure('once', { opsPerRep: 1, warmup: 0 }, () => {});
      },
    };
    const { report, files } = await runBench(bad, { outDir, readProcStat: () => null });
    expect(codes).toEqual(['INVALID_CONFIG', 'INVALID_CONFIG', 'INVALID_CONFIG']);
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'INVALID_CONFIG' });
    expect(report.measurements.map((m) => [m.label, m.otherCpuShare, m.procStatTicks, m.noisy])).toEqual([
      ['once', null, null, false],
    ]);
    expect(JSON.parse(await readFile(files[1]!, 'utf8'))).toMatchObject({ ok: false, name: 'bad' });
  });

  it('stops a bench that runs past its budget with TIMEOUT', async () => {
    let reps = 0;
    const slow: Bench = {
      name: 'slow',
      description: 'never finishes in budget',
      async run(ctx) {
        await ctx.measure('sleep', { opsPerRep: 1, reps: 1000, warmup: 0 }, async () => {
          reps += 1;
          await new Promise((r) => setTimeout(r, 20));
        });
      },
    };
    const { report, files } = await runBench(slow, { budgetMs: 200, outDir: null });
    expect(files).toEqual([]);
    expect(report.error).toMatchObject({ code: 'TIMEOUT' });
    expect(reps).toBeGreaterThan(0);
    expect(reps).toBeLessThan(1000);
  });

  it('rejects a non-positive budget with INVALID_CONFIG', async () => {
    const noop: Bench = { name: 'noop', description: 'nothing', async run() {} };
    await expect(runBench(noop, { budgetMs: 0, outDir: null })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });

  it('reports a thrown non-Error and keeps measuring without /proc/stat', async () => {
    const odd: Bench = {
      name: 'odd',
      description: 'throws a string',
      async run(ctx) {
        await ctx.measure('m', { opsPerRep: 2, warmup: 0 }, () => {});
        throw 'boom';
      },
    };
    const lines: string[] = [];
    const { report } = await runBench(odd, {
      outDir: null,
      readProcStat: () => 'garbage',
      print: (l) => lines.push(l),
    });
    expect(report.error).toEqual({ name: 'Error', code: null, message: 'boom' });
    expect(report.measurements[0]).toMatchObject({ otherCpuShare: null, procStatTicks: null, noisy: false });
    expect(lines.some((l) => l.includes('✗ odd failed'))).toBe(true);
  });

  it('sizes workloads by mode: smoke implies quick and the smoke budget', async () => {
    const seen: unknown[] = [];
    const sizer: Bench = {
      name: 'sizer',
      description: 'records its sizes',
      async run(ctx) {
        seen.push([ctx.quick, ctx.smoke, ctx.size(3, 2, 1), ctx.pick('f', 'q'), ctx.remainingMs() <= 15_000]);
      },
    };
    const smoke = await runBench(sizer, { smoke: true, outDir: null });
    await runBench(sizer, { quick: true, outDir: null });
    await runBench(sizer, { outDir: null });
    expect(seen).toEqual([
      [true, true, 1, 'q', true],
      [true, false, 2, 'q', true],
      [false, false, 3, 'f', false],
    ]);
    expect(smoke.report).toMatchObject({ quick: true, smoke: true, budgetMs: 15_000 });
    const own = await runBench(
      { ...sizer, budgetMs: { smoke: 1234, full: 99_000 } },
      { smoke: true, outDir: null },
    );
    expect(own.report.budgetMs).toBe(1234);
    const full = await runBench({ ...sizer, budgetMs: { smoke: 1234, full: 99_000 } }, { outDir: null });
    expect(full.report.budgetMs).toBe(99_000);
    const cli = await runBench(
      { ...sizer, budgetMs: { smoke: 1234 } },
      { smoke: true, budgetMs: 500, outDir: null },
    );
    expect(cli.report.budgetMs).toBe(500);
  });

  it('counts the CPU of the processes a measurement names as its own, per operation', async () => {
    const { spawn } = await import('node:child_process');
    // A child that burns CPU until killed: its time must land in processCpuUsPerOp.
    const child = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
    try {
      const burner: Bench = {
        name: 'burner',
        description: 'waits while a child burns CPU',
        async run(ctx) {
          await ctx.measure(
            'wait',
            { opsPerRep: 1, warmup: 0, pids: () => [child.pid ?? -1] },
            () => new Promise((r) => setTimeout(r, 150)),
          );
          await ctx.measure('plain', { opsPerRep: 1, warmup: 0 }, () => {});
        },
      };
      const { report } = await runBench(burner, { outDir: null });
      const [wait, plain] = report.measurements;
      // 3 reps of 150 ms: at least some ticks of the busy child each (it may share a CPU).
      expect(wait?.processCpuUsPerOp?.max ?? 0).toBeGreaterThan(10_000);
      expect(plain?.processCpuUsPerOp).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('interleaves workloads rep by rep after all their warm-ups, one measurement each', async () => {
    const trace: string[] = [];
    const pair: Bench = {
      name: 'pair',
      description: 'two workloads interleaved',
      async run(ctx) {
        const ms = await ctx.measureInterleaved([
          { label: 'a', opts: { opsPerRep: 1, warmup: 1 }, fn: () => void trace.push('a') },
          { label: 'b', opts: { opsPerRep: 2, warmup: 0, reps: 4 }, fn: () => void trace.push('b') },
        ]);
        expect(ms.map((m) => [m.label, m.reps, m.warmup])).toEqual([
          ['a', 3, 1],
          ['b', 4, 0],
        ]);
        await expect(
          ctx.measureInterleaved([{ label: 'a', opts: { opsPerRep: 1 }, fn: () => {} }]),
        ).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
        await expect(ctx.measureInterleaved([])).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      },
    };
    const { report } = await runBench(pair, { outDir: null });
    expect(report.error).toBeNull();
    expect(trace.join('')).toBe('a' + 'ab'.repeat(3) + 'b');
    expect(report.measurements.map((m) => m.label)).toEqual(['a', 'b']);
  });
  it('settles the heap before every repetition, outside the timed part', async () => {
    const trace: string[] = [];
    const pair: Bench = {
      name: 'settled',
      description: 'two workloads interleaved, heap settled between them',
      async run(ctx) {
        await ctx.measureInterleaved([
          { label: 'a', opts: { opsPerRep: 1, warmup: 1 }, fn: () => void trace.push('a') },
          // A slow settle must not count: both workloads would read ≤ 20 ops/s if it did.
          { label: 'b', opts: { opsPerRep: 1, warmup: 0 }, fn: () => void trace.push('b') },
        ]);
      },
    };
    const settleHeap = () => {
      trace.push('.');
      const until = performance.now() + 50;
      while (performance.now() < until) {}
    };
    const { report } = await runBench(pair, { outDir: null, settleHeap });
    expect(trace.join('')).toBe('.a' + '.a.b'.repeat(3));
    for (const m of report.measurements) expect(m.opsPerSec.min).toBeGreaterThan(100);
    expect(report.notes).toEqual([]);
  });

  it('settles with an exposed gc by default, and notes when there is none', async () => {
    const one: Bench = {
      name: 'one',
      description: 'one workload',
      async run(ctx) {
        await ctx.measure('x', { opsPerRep: 1, warmup: 0 }, () => {});
      },
    };
    const g = globalThis as { gc?: () => void };
    const saved = g.gc;
    try {
      let calls = 0;
      g.gc = () => {
        calls++;
      };
      const withGc = await runBench(one, { outDir: null });
      expect(calls).toBe(3);
      expect(withGc.report.notes).toEqual([]);
      delete g.gc;
      const without = await runBench(one, { outDir: null });
      expect(without.report.notes.join(' ')).toContain('--expose-gc');
      const never = await runBench(one, { outDir: null, settleHeap: null });
      expect(never.report.notes).toEqual([]);
    } finally {
      if (saved === undefined) delete g.gc;
      else g.gc = saved;
    }
  });
});
