/**
 * Closed-loop HTTP measurements against server clusters: each sized to a repetition time, servers'
 * CPU per operation from `/proc/<pid>/stat`, latency percentiles of the measured repetitions, and
 * for flotilla-kv the leader's event-loop delay over the measurement. Several workloads (a system
 * and its peer) run interleaved, repetition by repetition.
 *
 * @module
 */
import type { BenchContext, Measurement, MeasureOptions } from '../harness.ts';
import { median } from '../stats.ts';
import { sizeForDuration } from './memory-cluster.ts';
import { closedLoopHttp, type HttpCluster, KvHttpCluster, type LoopDelay, loadAgent } from './servers.ts';

/** One HTTP workload. */
export interface HttpWorkload {
  readonly cluster: HttpCluster;
  readonly label: string;
  readonly op: 'write' | 'read';
  readonly clients: number;
  readonly valueBytes: number;
  readonly repMs: number;
}

/**
 * Measures the workloads interleaved (see `measureInterleaved`); records `<label> latency` (ms) and,
 * for kv, `<label>.leaderLoopDelayP99Ms` (median over the repetitions) / `…MaxMs` (the largest). Fails when a server died meanwhile.
 */
export async function measureHttp(
  ctx: BenchContext,
  workloads: readonly HttpWorkload[],
): Promise<Measurement[]> {
  const prepared: {
    w: HttpWorkload;
    agent: ReturnType<typeof loadAgent>;
    lat: number[];
    runs: number;
    delays: Promise<LoopDelay | null>[];
    spec: { label: string; opts: MeasureOptions; fn: () => Promise<void> };
  }[] = [];
  try {
    for (const w of workloads) {
      const agent = loadAgent(w.clients);
      const once = (n: number) => closedLoopHttp(w.cluster, agent, w.op, w.clients, n, w.valueBytes);
      const n = await sizeForDuration(
        async (k) => {
          await once(k);
        },
        w.repMs,
        w.clients,
        w.clients,
      );
      const kv = w.cluster instanceof KvHttpCluster ? w.cluster : null;
      const p = {
        w,
        agent,
        lat: [] as number[],
        runs: 0,
        delays: [] as Promise<LoopDelay | null>[],
        spec: {
          label: w.label,
          opts: { opsPerRep: n, reps: 3, pids: () => w.cluster.pids },
          fn: async () => {
            // The leader's event-loop delay over this repetition only (the peer's are interleaved).
            const measured = p.runs++ > 0;
            if (measured) await kv?.resetLoopDelay(kv.leaderIndex);
            const r = await once(n);
            if (measured && kv !== null) p.delays.push(kv.dumpLoopDelay(kv.leaderIndex));
            // The warm-up repetition (the first run) is left out of the latencies.
            if (measured) p.lat = p.lat.concat(r.latenciesMs);
          },
        },
      };
      prepared.push(p);
    }
    const ms = await ctx.measureInterleaved(prepared.map((p) => p.spec));
    for (const p of prepared) {
      const { cluster, label } = p.w;
      if (!cluster.alive())
        throw new Error(`${label}: a ${cluster.kind} server exited during the measurement`);
      ctx.latency(`${label} latency`, p.lat, 'ms');
      const delays = (await Promise.all(p.delays)).filter((d): d is LoopDelay => d !== null);
      if (delays.length > 0) {
        ctx.result({
          [`${label}.leaderLoopDelayP99Ms`]: round(median(delays.map((d) => d.p99))),
          [`${label}.leaderLoopDelayMaxMs`]: round(Math.max(...delays.map((d) => d.max))),
        });
      }
    }
    return ms;
  } finally {
    for (const p of prepared) p.agent.destroy();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
