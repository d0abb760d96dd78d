import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KvClient } from '../src/client.ts';
import { BIN_PATH } from '../src/local-cluster.ts';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Spawns `flotilla-kv cluster <args>`; `banner()` waits (60 s at most) until it printed that Ctrl-C
 * stops the cluster and returns its output so far, or rejects if it exited or took longer.
 */
function startCluster(args: string[]) {
  const proc = spawn(process.execPath, [BIN_PATH, 'cluster', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  const banner = async (): Promise<string> => {
    const deadline = Date.now() + 60_000;
    while (!out.includes('Ctrl-C stops the cluster.')) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`cluster did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return out;
  };
  return { proc, banner };
}

describe('flotilla-kv cluster and bench commands (real processes)', () => {
  it('cluster starts and initializes 3 nodes, bench drives it, Ctrl-C stops everything', async () => {
    const { proc, banner } = startCluster(['--nodes', '3']);
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    try {
      const out = await banner();
      const addrs = [...out.matchAll(/node (\d) {2}http:\/\/([\d.:]+)\//g)].map((m) => m[2] as string);
      expect(addrs).toHaveLength(3);
      const dashboard = /dashboard: http:\/\/([\d.:]+)\//.exec(out)?.[1];
      expect(addrs).toContain(dashboard);
      const client = new KvClient(addrs);
      const leader = await client.waitForLeader(10_000);
      expect(leader.addr).toBe(dashboard);

      const bench = await run([
        'bench',
        '--clients',
        '4',
        '--duration',
        '2',
        '--addrs',
        addrs.join(','),
        '--json',
      ]);
      expect(bench.code).toBe(0);
      const result = JSON.parse(bench.stdout) as {
        writes: number;
        errors: number;
        writeLatency: { p50: number };
      };
      expect(result.writes).toBeGreaterThan(0);
      expect(result.errors).toBe(0);
      expect(result.writeLatency.p50).toBeGreaterThan(0);
      expect(bench.stderr).toContain('bench');

      proc.kill('SIGINT');
      expect(await exited).toBe(0);
      for (const addr of addrs) await expect(client.call(addr, '/health')).rejects.toThrow();
    } finally {
      proc.kill('SIGKILL');
    }
  }, 90_000);

  it('nodes of a SIGKILLed cluster command stop by themselves', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kv-cli-test-'));
    const { proc, banner } = startCluster(['--nodes', '1', '--dir', dir]);
    try {
      const out = await banner();
      const addr = /dashboard: http:\/\/([\d.:]+)\//.exec(out)?.[1] as string;
      const client = new KvClient([addr], { requestTimeoutMs: 1000 });
      expect((await client.call(addr, '/health')).status).toBe(200);
      proc.kill('SIGKILL');
      const gone = Date.now() + 15_000;
      for (;;) {
        const up = await client.call(addr, '/health').then(
          () => true,
          () => false,
        );
        if (!up) break;
        if (Date.now() > gone) throw new Error('the orphaned node kept running');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      // Killing the CLI also stops its nodes: they watch for their parent's death.
      proc.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
