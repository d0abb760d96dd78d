/**
 * The load generator behind `flotilla-kv bench`: concurrent HTTP clients against a running cluster,
 * with throughput and latency percentiles. (The workspace's benchmark harness, with its own
 * `runBench`, is `@flotilla/bench` in tooling/bench; this is no part of it.)
 */
import { KvClient } from './client.ts';
import { type Out, ProgressBar } from './terminal.ts';

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Addresses of the cluster's nodes. */
  addrs: string[];
  /** Concurrent clients, each with one request in flight. */
  clients: number;
  /** How long to run, in seconds. */
  durationS: number;
  /** Fraction of operations that are linearizable reads (0..1). */
  readRatio: number;
  /** Distinct keys written. */
  keySpace: number;
  /** Where the progress bar goes. */
  out: Out;
}

/** Latency percentiles in milliseconds. */
export interface LatencyPercentiles {
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** Slowest. */
  max: number;
}

/** What a bench run measured. */
export interface LoadResult {
  /** Acknowledged writes. */
  writes: number;
  /** Linearizable reads served. */
  reads: number;
  /** Operations that failed. */
  errors: number;
  /** Wall time, seconds. */
  seconds: number;
  /** Writes per second. */
  writesPerSec: number;
  /** Reads per second. */
  readsPerSec: number;
  /** Write latency. */
  writeLatency: LatencyPercentiles;
  /** Read latency. */
  readLatency: LatencyPercentiles;
}

function summarize(ms: number[]): LatencyPercentiles {
  const s = ms.sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s.at(-1) ?? Number.NaN),
  };
}

/**
 * Drives `clients` concurrent clients against a cluster for `durationS` seconds: writes (`Set` of a
 * random key) through the leader and, with probability `readRatio`, linearizable reads on it.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const seed = new KvClient(opts.addrs);
  const leader = await seed.waitForLeader(30_000);
  const start = performance.now();
  const end = start + opts.durationS * 1000;
  const writeMs: number[] = [];
  const readMs: number[] = [];
  let errors = 0;
  const bar = new ProgressBar(opts.out, opts.durationS, 'bench');
  const ticker = setInterval(() => {
    const t = (performance.now() - start) / 1000;
    bar.update(Math.min(opts.durationS, Math.floor(t)), `${writeMs.length} writes, ${readMs.length} reads`);
  }, 250);
  const worker = async (w: number): Promise<void> => {
    const client = new KvClient([leader.addr, ...opts.addrs.filter((a) => a !== leader.addr)]);
    let i = 0;
    while (performance.now() < end) {
      i++;
      const t0 = performance.now();
      try {
        if (Math.random() < opts.readRatio) {
          const r = await client.call(
            client.leader ?? leader.addr,
            '/linearizable_read',
            `k${i % opts.keySpace}`,
          );
          if (r.status !== 200 || typeof (r.body as { Ok?: unknown }).Ok !== 'string')
            throw new Error('read failed');
          readMs.push(performance.now() - t0);
        } else {
          const key = `k${(w * 7919 + i) % opts.keySpace}`;
          await client.write({ Set: { key, value: `v${w}-${i}` } }, { deadlineMs: 5000 });
          writeMs.push(performance.now() - t0);
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, (_, w) => worker(w)));
  clearInterval(ticker);
  bar.update(opts.durationS, `${writeMs.length} writes, ${readMs.length} reads`);
  bar.finish();
  const seconds = (performance.now() - start) / 1000;
  return {
    writes: writeMs.length,
    reads: readMs.length,
    errors,
    seconds: Math.round(seconds * 100) / 100,
    writesPerSec: Math.round(writeMs.length / seconds),
    readsPerSec: Math.round(readMs.length / seconds),
    writeLatency: summarize(writeMs),
    readLatency: summarize(readMs),
  };
}

/** Renders a result as a few human-readable lines. */
export function formatLoadResult(r: LoadResult): string {
  const lat = (l: LatencyPercentiles) =>
    `p50 ${l.p50} ms · p90 ${l.p90} ms · p99 ${l.p99} ms · max ${l.max} ms`;
  return [
    `duration   ${r.seconds} s`,
    `writes     ${r.writes} (${r.writesPerSec}/s)  ${r.writes > 0 ? lat(r.writeLatency) : ''}`,
    `reads      ${r.reads} (${r.readsPerSec}/s)  ${r.reads > 0 ? lat(r.readLatency) : ''}`,
    `errors     ${r.errors}`,
  ].join('\n');
}

/** The `p`-th percentile (0..100) of sorted numbers, or `NaN` when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
