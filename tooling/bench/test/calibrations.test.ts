import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBench } from '../src/discover.ts';
import { runBench } from '../src/runner.ts';

const run = promisify(execFile);

describe('calibrations (quick runs)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-calibrate-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cases: [string, string[], string[]][] = [
    [
      'calibrate-fsync',
      ['append+fdatasync batch=1', 'append+fdatasync batch=64', 'append+fdatasync batch=1024'],
      ['write+fdatasync batch=1', 'write+fdatasync batch=64', 'write+fdatasync batch=1024'],
    ],
    [
      'calibrate-loopback',
      ['ping-pong 128 B', 'pipelined 128 B ×64', 'bulk 64 KiB ×8'],
      ['ping-pong RTT 128 B'],
    ],
    ['calibrate-msgpackr', ['round trip objects', 'round trip records', 'round trip buffer'], []],
  ];

  for (const [name, measured, latencies] of cases) {
    it(`${name} finishes and records every figure`, async () => {
      const bench = await loadBench(name);
      const { report } = await runBench(bench, { quick: true, outDir: null, args: [`--dir=${dir}`] });
      expect(report.error).toBeNull();
      expect(report.measurements.map((m) => m.label)).toEqual(measured);
      for (const m of report.measurements) {
        expect(m.reps).toBeGreaterThanOrEqual(3);
        expect(m.opsPerSec.median).toBeGreaterThan(0);
      }
      expect(report.latencies.map((l) => l.label)).toEqual(latencies);
      // warm-up samples are dropped: 3 reps × the per-rep count
      for (const l of report.latencies) expect(l.count % 3).toBe(0);
      expect(report.ratios.length).toBeGreaterThan(0);
    });
  }

  it('the fsync calibration leaves no scratch files behind', async () => {
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual([]);
  });

  it('the CLI lists the benchmarks and rejects an unknown name with exit code 2', async () => {
    const cwd = join(import.meta.dirname, '..');
    const tsx = join(cwd, 'node_modules', '.bin', 'tsx');
    const cli = ['--conditions=@flotilla/source', 'src/cli.ts'];
    const { stdout } = await run(tsx, [...cli, '--list'], { cwd });
    expect(stdout).toMatch(/calibrate-fsync\s+append \+ fdatasync/);
    await expect(run(tsx, [...cli, 'no-such-bench'], { cwd })).rejects.toMatchObject({ code: 2 });
  });
});
