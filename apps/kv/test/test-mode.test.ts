import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { eventually, TEST_BIN_PATH, tempCluster } from './helpers.ts';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TEST_BIN_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function writeMany(
  c: ReturnType<Awaited<ReturnType<typeof tempCluster>>['cluster']['client']>,
  n: number,
) {
  for (let i = 0; i < n; i++) await c.write({ Set: { key: `k${i}`, value: `v${i}` } });
}

describe('test mode (test/bin/flotilla-kv-test)', () => {
  it('refuses to run without --test-mode, and refuses unknown bugs', async () => {
    const r = await run(['--id', '1', '--http-addr', '127.0.0.1:0', '--plant-bug', 'skip-fsync']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --file-io volatile|refused/);
    const r2 = await run(['--id', '1', '--http-addr', '127.0.0.1:0']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/refused: flotilla-kv-test runs only with --test-mode/);
    const r3 = await run(['--test-mode', '--plant-bug', 'nope']);
    expect(r3.code).toBe(2);
    const help = await run(['help']);
    expect(help.stdout).toContain('--plant-bug');
    expect(help.stdout).toContain('--file-io volatile');
  }, 60_000);

  it('volatile files: a power loss keeps every acknowledged write; with skip-fsync it loses them', async () => {
    for (const bug of [[], ['--plant-bug', 'skip-fsync']]) {
      const { cluster, cleanup } = await tempCluster(
        1,
        ['--test-mode', '--file-io', 'volatile', ...bug],
        TEST_BIN_PATH,
      );
      try {
        const addr = cluster.addr(1);
        const c = cluster.client();
        await c.call(addr, '/init', []);
        await c.waitForLeader(30_000);
        await writeMany(c, 20);
        await c.call(addr, '/test/power-loss', {}).catch(() => undefined);
        await eventually('the node to die', 10_000, async () => (cluster.isRunning(1) ? undefined : true));
        await cluster.startNode(1);
        // Without the bug the node is back as the leader; with it, its log (the membership too) is gone.
        if (bug.length === 0) {
          await c.waitForLeader(30_000);
          // A linearizable read waits until the new leader applied its log again (its read point is
          // past every write); the local reads below then see what survived, not a half re-applied state.
          await eventually('a linearizable read', 30_000, async () => {
            const r = await c.call(addr, '/linearizable_read', 'k0');
            return typeof r.body === 'object' && r.body !== null && 'Ok' in r.body ? true : undefined;
          });
        }
        const values = await Promise.all(Array.from({ length: 20 }, (_, i) => c.read(addr, `k${i}`)));
        const kept = values.filter((v, i) => v === `v${i}`).length;
        if (bug.length === 0) expect(kept).toBe(20);
        else expect(kept).toBe(0);
      } finally {
        await cleanup();
      }
    }
  }, 120_000);

  it('a failed fsync stops the node: /health answers 503 and no write succeeds', async () => {
    const { cluster, cleanup } = await tempCluster(
      1,
      ['--test-mode', '--file-io', 'volatile'],
      TEST_BIN_PATH,
    );
    try {
      const addr = cluster.addr(1);
      const c = cluster.client();
      await c.call(addr, '/init', []);
      await c.waitForLeader(30_000);
      await writeMany(c, 3);
      expect(await c.call(addr, '/test/fail-fsync', {})).toEqual({ status: 200, body: { Ok: null } });
      const w = await c.call(addr, '/write', { Set: { key: 'after', value: 'x' } });
      expect(w.body).not.toHaveProperty('Ok');
      const h = await eventually('the node to stop', 10_000, async () => {
        const r = await c.call(addr, '/health');
        return r.status === 503 ? r : undefined;
      });
      expect(h.body).toMatchObject({ Err: { status: 'stopped' } });
      expect((await c.call(addr, '/write', { Set: { key: 'later', value: 'y' } })).status).toBe(503);
    } finally {
      await cleanup();
    }
  }, 60_000);
});
