/**
 * flotilla-kv against etcd on this machine: both 3-member clusters on loopback, durable with default
 * settings, driven by the same closed-loop HTTP/JSON load generator (etcd through its JSON gateway
 * `/v3/kv/put` and `/v3/kv/range` with base64 keys and values), interleaved repetition by
 * repetition (which goes first alternates by workload): writes of 100-byte values over 1,000 keys at C = 1, 16, 64, 256, and
 * linearizable reads at C = 64. Writes/s, p50/p99 and the servers' CPU per operation (three
 * processes summed, from `/proc/<pid>/stat`). Installs Debian's `etcd-server` when etcd is missing.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bench, Measurement } from '../harness.ts';
import { measureHttp } from '../lib/http-measure.ts';
import {
  EtcdCluster,
  ensureEtcd,
  etcdVersion,
  type HttpCluster,
  KvHttpCluster,
  kvEntryLabel,
  warmUp,
} from '../lib/servers.ts';
import { REPO_ROOT } from '../runner.ts';

const VALUE_BYTES = 100;

export const bench: Bench = {
  name: 'kv-vs-etcd',
  description:
    'flotilla-kv vs etcd (3 members each, loopback, same HTTP/JSON load generator, interleaved): writes at C = 1, 16, 64, 256, linearizable reads at 64',
  // A build check (turbo, cached) and six servers start first: a few seconds before any load.
  budgetMs: { full: 270_000, quick: 110_000, smoke: 40_000 },
  async run(ctx) {
    const etcdBin = ensureEtcd();
    if (etcdBin === null) throw new Error('etcd is missing and `apt-get install -y etcd-server` failed');
    const writeClients = ctx.size([1, 16, 64, 256], [1, 16, 64, 256], [16]);
    const readClients = 64;
    const repMs = ctx.size(2000, 500, 30);
    // Steady state, not V8's warm-up: a kv node's CPU per write at 64 clients falls from ~900 to
    // ~210 µs over its first ~6 s of load as the hot paths get optimized (etcd, compiled ahead of
    // time, needs none). Both clusters get the same warm-up.
    const warmMs = ctx.size(10_000, 7000, 0);
    ctx.params({
      members: 3,
      valueBytes: VALUE_BYTES,
      keys: 1000,
      writeClients: writeClients.join(','),
      readClients,
      repMs,
      warmUpMsPerCluster: warmMs,
      etcd: etcdVersion(etcdBin),
      kv: `${kvEntryLabel()}, default flotilla-kv settings`,
    });
    const dir = await mkdtemp(join(REPO_ROOT, 'bench-results', '.kv-etcd-'));
    const clusters: HttpCluster[] = [];
    try {
      const kv = await KvHttpCluster.start(3, dir);
      clusters.push(kv);
      const etcd = await EtcdCluster.start(etcdBin, 3, dir);
      clusters.push(etcd);
      await warmUp(kv, warmMs);
      await warmUp(etcd, warmMs);
      const workloads = [
        ...writeClients.map((c) => ({ op: 'write' as const, clients: c })),
        { op: 'read' as const, clients: readClients },
      ];
      const cpuRatios: Record<string, number> = {};
      for (const [j, w] of workloads.entries()) {
        // Interleaved rep by rep; which system goes first alternates by workload.
        const order: HttpCluster[] = j % 2 === 0 ? [kv, etcd] : [etcd, kv];
        const ms = await measureHttp(
          ctx,
          order.map((c) => ({
            cluster: c,
            label: `${c.kind} ${w.op} C=${w.clients}`,
            op: w.op,
            clients: w.clients,
            valueBytes: VALUE_BYTES,
            repMs,
          })),
        );
        const got: Partial<Record<'kv' | 'etcd', Measurement>> = {};
        for (const [i, c] of order.entries()) got[c.kind] = ms[i] as Measurement;
        const tag = `${w.op} C=${w.clients}`;
        ctx.ratio(`kv/etcd ${tag}`, `kv ${tag}`, `etcd ${tag}`);
        const k = got.kv?.processCpuUsPerOp?.median;
        const e = got.etcd?.processCpuUsPerOp?.median;
        if (k !== undefined && e !== undefined && e > 0)
          cpuRatios[`kv/etcd ${tag} serverCpuPerOp`] = round(k / e);
      }
      ctx.result(cpuRatios);
    } finally {
      await Promise.all(clusters.map((c) => c.stop()));
      await rm(dir, { recursive: true, force: true });
    }
    ctx.note(
      'load generator: this process, one keep-alive connection per client, requests to the leader; servers CPU-µs/op sums the three server processes; the generator shares the machine with the servers',
    );
  },
};

const round = (x: number) => Math.round(x * 1000) / 1000;
