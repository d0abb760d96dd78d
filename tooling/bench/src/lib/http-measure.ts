/**
 * One closed-loop HTTP measurement against a server cluster: sized to a repetition time, servers'
 * CPU per operation from `/proc/<pid>/stat`, latency percentiles of the measured repetitions, and
 * for flotilla-kv the leader's event-loop delay over the measurement.
 *
 * @module
 */
import type { BenchContext, Measurement } from '../harness.ts';
import { sizeForDuration } from './memory-cluster.ts';
import { closedLoopHttp, type HttpCluster, KvHttpCluster, loadAgent } from './servers.ts';

/** Options of {@link measureHttp}. */
export interface HttpMeasureOptions {
  readonly op: 'write' | 'read';
  readonly clients: number;
  readonly valueBytes: number;
  readonly repMs: number;
}

/** Measures `cluster` under `opts` as `label`; records `<label> latency` (ms) and loop delay results. */
export async function measureHttp(
  ctx: BenchContext,
  cluster: HttpCluster,
  label: string,
  opts: HttpMeasureOptions,
): Promise<Measurement> {
  const agent = loadAgent(opts.clients);
  try {
    const once = (n: number) => closedLoopHttp(cluster, agent, opts.op, opts.clients, n, opts.valueBytes);
    const n = await sizeForDuration(
      async (k) => {
        await once(k);
      },
      opts.repMs,
      opts.clients,
      opts.clients,
    );
    let lat: number[] = [];
    let runs = 0;
    const kv = cluster instanceof KvHttpCluster ? cluster : null;
    const m = await ctx.measure(label, { opsPerRep: n, reps: 3, pids: () => cluster.pids }, async () => {
      if (runs === 1) kv?.markLoopDelay(kv.leaderIndex);
      const r = await once(n);
      // The warm-up repetition (the first run) is left out of the latencies.
      if (runs++ > 0) lat = lat.concat(r.latenciesMs);
    });
    if (!cluster.alive()) throw new Error(`${label}: a ${cluster.kind} server exited during the measurement`);
    ctx.latency(`${label} latency`, lat, 'ms');
    if (kv !== null) {
      const d = await kv.loopDelay(kv.leaderIndex);
      if (d !== null) {
        ctx.result({
          [`${label}.leaderLoopDelayP99Ms`]: round(d.p99),
          [`${label}.leaderLoopDelayMaxMs`]: round(d.max),
        });
      }
    }
    return m;
  } finally {
    agent.destroy();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
