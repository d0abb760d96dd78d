/**
 * How flotilla-kv scales with the cluster and the entry, beside etcd in the same run: kv with 3, 5
 * and 7 voters and etcd with 3 and 5 members (HTTP, durable, 64 clients, 100-byte values), all
 * running side by side and measured interleaved repetition by repetition; on the 3-member clusters
 * also entries of 1 KiB and 16 KiB (interleaved per size).
 * Every kv measurement records its leader's event-loop delay (p99, max) over the measured
 * repetitions, from the node's own metric (`GET /metrics/event-loop`, reset before each).
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bench } from '../harness.ts';
import { measureHttp } from '../lib/http-measure.ts';
import {
  EtcdCluster,
  ensureEtcd,
  etcdVersion,
  type HttpCluster,
  KvHttpCluster,
  warmUp,
} from '../lib/servers.ts';
import { REPO_ROOT } from '../runner.ts';

const CLIENTS = 64;

export const bench: Bench = {
  name: 'scaling',
  description:
    'flotilla-kv with 3, 5, 7 voters beside etcd with 3 and 5 (64 clients, 100 B), entry sizes 100 B / 1 KiB / 16 KiB, leader event-loop delay',
  budgetMs: { full: 400_000, quick: 150_000, smoke: 60_000 },
  async run(ctx) {
    const repMs = ctx.size(2000, 500, 40);
    const warmMs = ctx.size(3000, 1500, 0);
    const sizes = ctx.size([100, 1024, 16 * 1024], [100, 1024, 16 * 1024], [100, 16 * 1024]);
    const kvVoters = ctx.size([3, 5, 7], [3, 5, 7], [3]);
    // The smoke run skips etcd (kv-vs-etcd's smoke starts it): server start-up is most of its time.
    const etcdMembers = ctx.size([3, 5], [3, 5], []);
    ctx.params({
      clients: CLIENTS,
      kvVoters: kvVoters.join(','),
      etcdMembers: etcdMembers.join(','),
      entryBytes: sizes.join(','),
      repMs,
      warmUpMsPerCluster: warmMs,
    });
    const etcdBin = etcdMembers.length === 0 ? null : ensureEtcd();
    if (etcdMembers.length > 0 && etcdBin === null) {
      throw new Error('etcd is missing and `apt-get install -y etcd-server` failed');
    }
    if (etcdBin !== null) ctx.params({ etcd: etcdVersion(etcdBin) });
    const dir = await mkdtemp(join(REPO_ROOT, 'bench-results', '.scaling-'));
    try {
      const plan: { kind: 'kv' | 'etcd'; n: number }[] = [];
      for (const n of [3, 5, 7]) {
        if (kvVoters.includes(n)) plan.push({ kind: 'kv', n });
        if (etcdMembers.includes(n)) plan.push({ kind: 'etcd', n });
      }
      // Every cluster runs side by side (idle ones only heartbeat) so that each comparison is
      // measured interleaved, repetition by repetition.
      const clusters = new Map<string, HttpCluster>();
      try {
        for (const { kind, n } of plan) {
          const sub = join(dir, `${kind}-${n}`);
          clusters.set(
            `${kind}-${n}`,
            kind === 'kv'
              ? await KvHttpCluster.start(n, sub)
              : await EtcdCluster.start(etcdBin as string, n, sub),
          );
        }
        for (const c of clusters.values()) await warmUp(c, warmMs);
        const workload = (key: string, bytes: number) => ({
          cluster: clusters.get(key) as HttpCluster,
          label: `${key} ${bytes} B`,
          op: 'write' as const,
          clients: CLIENTS,
          valueBytes: bytes,
          repMs,
        });
        // 100 B on every cluster, interleaved; then each larger size on the 3-member clusters.
        await measureHttp(
          ctx,
          plan.map((p) => workload(`${p.kind}-${p.n}`, 100)),
        );
        for (const bytes of sizes.filter((b) => b !== 100)) {
          await measureHttp(
            ctx,
            plan.filter((p) => p.n === 3).map((p) => workload(`${p.kind}-${p.n}`, bytes)),
          );
        }
      } finally {
        await Promise.all([...clusters.values()].map((c) => c.stop()));
      }
      const has = (kind: string, n: number) => plan.some((p) => p.kind === kind && p.n === n);
      for (const kind of ['kv', 'etcd'] as const) {
        if (!has(kind, 3)) continue;
        for (const n of [5, 7]) {
          if (has(kind, n)) {
            ctx.ratio(`${kind} ${n}/3 voters`, `${kind}-${n} 100 B`, `${kind}-3 100 B`);
          }
        }
        for (const bytes of sizes.filter((b) => b !== 100)) {
          ctx.ratio(`${kind}-3 ${bytes} B / 100 B`, `${kind}-3 ${bytes} B`, `${kind}-3 100 B`);
        }
      }
      if (has('kv', 3) && has('etcd', 3)) {
        for (const bytes of sizes)
          ctx.ratio(`kv/etcd 3 members ${bytes} B`, `kv-3 ${bytes} B`, `etcd-3 ${bytes} B`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    ctx.note(
      'all clusters run side by side (the idle ones heartbeat); writes go to the leader; servers CPU-µs/op sums every member; the leader loop delay is kv only (etcd is Go)',
    );
  },
};
