import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvClient } from './client.ts';
import { LocalCluster } from './local-cluster.ts';
import { type Out, ProgressBar } from './terminal.ts';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Writes before the leader is killed. Default 2000. */
  writesBefore?: number;
  /** Writes after the failover. Default 1000. */
  writesAfter?: number;
  /** Concurrent writers. Default 16. */
  concurrency?: number;
  /** Keep the temp dir (and its node logs) afterwards. */
  keep?: boolean;
  /** Extra node arguments. */
  nodeArgs?: string[];
  /** Where the story is told. */
  out: Out;
}

/** The demo's figures. */
export interface DemoSummary {
  /** Writes acknowledged in total. */
  acked: number;
  /** Acknowledged writes missing or wrong on some node (must be 0). */
  lost: number;
  /** Writes abandoned after retries (not acknowledged, so not counted as lost). */
  failed: number;
  /** From the SIGKILL to a new leader, ms. */
  failoverMs: number;
  /** From restarting the old leader to it having applied everything, ms. */
  catchUpMs: number;
  /** The killed leader's id and the new leader's. */
  oldLeader: number;
  /** The new leader's id. */
  newLeader: number;
  /** Where the data and logs were. */
  dir: string;
}

async function writeMany(
  client: KvClient,
  from: number,
  count: number,
  concurrency: number,
  acked: Map<string, string>,
  bar: ProgressBar,
): Promise<number> {
  let next = from;
  let done = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < from + count) {
      const i = next++;
      const key = `key-${String(i).padStart(6, '0')}`;
      const value = `value-${i}`;
      try {
        // Each key is written once with one value, so a retried write is harmless.
        await client.write({ Set: { key, value } }, { deadlineMs: 30_000 });
        acked.set(key, value);
      } catch {
        failed++;
      }
      done++;
      bar.update(done, client.leader === undefined ? '' : `leader ${client.leader}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  bar.finish();
  return failed;
}

async function appliedIndex(client: KvClient, addr: string): Promise<number> {
  const m = await client.metrics(addr);
  const a = m.last_applied as { index: number } | null;
  return a === null ? -1 : a.index;
}

/**
 * The README demo: a 3-node cluster of separate processes in a temp dir; writes with a progress bar;
 * SIGKILL of the leader; a new leader; more writes; the old leader restarted and caught up; then every
 * acknowledged write is read back on every node. Resolves with the figures (`lost` must be 0).
 */
export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const out = opts.out;
  const say = (s: string) => out.write(`${s}\n`);
  const before = opts.writesBefore ?? 2000;
  const after = opts.writesAfter ?? 1000;
  const conc = opts.concurrency ?? 16;
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-kv-demo-'));
  say(`▶ starting 3 nodes (data and logs in ${dir})`);
  const cluster = await LocalCluster.start({
    nodes: 3,
    dir,
    ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
  });
  try {
    for (const [id, addr] of cluster.addrs) say(`  node ${id}  http://${addr}/`);
    await cluster.initialize();
    const client = cluster.client();
    const first = await client.waitForLeader(30_000);
    say(`▶ cluster initialized; leader is node ${first.id}. Dashboard: http://${first.addr}/`);
    const acked = new Map<string, string>();
    let failed = await writeMany(client, 0, before, conc, acked, new ProgressBar(out, before, '  writing'));
    say(`  ${acked.size} writes acknowledged`);

    const old = await client.waitForLeader(30_000);
    say(`▶ SIGKILL the leader, node ${old.id}`);
    const t0 = performance.now();
    await cluster.kill(old.id, 'SIGKILL');
    const others = [...cluster.addrs].filter(([id]) => id !== old.id).map(([, a]) => a);
    const fresh = await client.waitForLeader(60_000, others, old.id);
    const failoverMs = Math.round(performance.now() - t0);
    say(`  node ${fresh.id} is the new leader after ${failoverMs} ms`);

    failed += await writeMany(client, before, after, conc, acked, new ProgressBar(out, after, '  writing'));
    say(`  ${acked.size} writes acknowledged in total`);

    say(`▶ restarting node ${old.id} with its data dir`);
    const t1 = performance.now();
    await cluster.startNode(old.id);
    const target = (await client.metrics(fresh.addr)).last_log_index as number;
    const oldAddr = cluster.addr(old.id);
    for (;;) {
      const a = await appliedIndex(client, oldAddr).catch(() => -1);
      if (a >= target) break;
      if (performance.now() - t1 > 60_000) throw new Error(`node ${old.id} did not catch up in 60 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const catchUpMs = Math.round(performance.now() - t1);
    say(`  node ${old.id} caught up to index ${target} in ${catchUpMs} ms`);

    say(`▶ verifying ${acked.size} acknowledged writes on every node`);
    let lost = 0;
    for (const [id, addr] of cluster.addrs) {
      const keys = [...acked];
      const bar = new ProgressBar(out, keys.length, `  node ${id}`);
      let at = 0;
      let checked = 0;
      const worker = async () => {
        while (at < keys.length) {
          const [k, v] = keys[at++] as [string, string];
          let got: string;
          try {
            got = await client.read(addr, k);
          } catch {
            got = '<unreadable>';
          }
          if (got !== v) {
            lost++;
            if (lost <= 5)
              say(`  ✗ node ${id}: ${k} = ${JSON.stringify(got)}, expected ${JSON.stringify(v)}`);
          }
          bar.update(++checked);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      bar.finish();
    }
    return {
      acked: acked.size,
      lost,
      failed,
      failoverMs,
      catchUpMs,
      oldLeader: old.id,
      newLeader: fresh.id,
      dir,
    };
  } finally {
    await cluster.stop();
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** The demo's closing summary. */
export function formatDemoSummary(s: DemoSummary): string {
  return [
    '── summary ──────────────────────────────',
    `writes acknowledged  ${s.acked}`,
    `writes lost          ${s.lost}`,
    `writes abandoned     ${s.failed} (never acknowledged)`,
    `failover             ${s.failoverMs} ms (node ${s.oldLeader} → node ${s.newLeader})`,
    `catch-up             ${s.catchUpMs} ms (node ${s.oldLeader} restarted)`,
    s.lost === 0 ? '✔ nothing lost' : '✘ DATA LOST',
  ].join('\n');
}
