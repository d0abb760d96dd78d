/**
 * Replication pipelining in the in-process cluster (memory stores, copying router):
 *
 * - `maxPayloadEntries = 64` and 1 ms injected one-way delay (the router's `setDelay(1)`, each way),
 *   the pipelined stream (`maxInflightRequests` default) against one request in flight
 *   (`maxInflightRequests = 1`: the stream waits for each reply before the next request) at C = 256
 *   and 1024; the control run is the same pair with no delay, where pipelining should change little;
 * - the default configuration with 1 ms delay against none, at C = 256 and 1024;
 * - each pair runs interleaved, repetition by repetition, on two clusters running side by side;
 * - follower catch-up: a learner added to a leader 100,000 entries ahead (snapshots off, so it is
 *   replicated from the log), timed from `addLearner` until its log holds the leader's last index.
 *
 * @module
 */
import { DEFAULT_CONFIG, type RaftConfig } from '@flotilla/raft';
import type { Bench, BenchContext } from '../harness.ts';
import { closedLoop, MemoryCluster, sizeForDuration } from '../lib/memory-cluster.ts';

const ENTRY_BYTES = 100;

/** A started cluster and the closed-loop workload on it, sized to `repMs`. */
async function prepare(
  label: string,
  config: Partial<RaftConfig>,
  delayMs: number,
  clients: number,
  repMs: number,
): Promise<{
  cluster: MemoryCluster;
  spec: { label: string; opts: { opsPerRep: number }; fn: () => Promise<void> };
}> {
  const cluster = await MemoryCluster.start({ config });
  try {
    const leader = cluster.node('1');
    cluster.router.setDelay(delayMs);
    const data = Array.from({ length: clients }, (_, i) => new Uint8Array(ENTRY_BYTES).fill(i & 0xff));
    const once = (n: number) => closedLoop(clients, n, (k) => leader.clientWrite(data[k] as Uint8Array));
    const n = await sizeForDuration(once, repMs, clients, clients);
    return { cluster, spec: { label, opts: { opsPerRep: n }, fn: () => once(n) } };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}

/** Measures two configurations interleaved, each on its own cluster (both running meanwhile). */
async function pair(
  ctx: BenchContext,
  a: [string, Partial<RaftConfig>, number],
  b: [string, Partial<RaftConfig>, number],
  clients: number,
  repMs: number,
): Promise<void> {
  const started: MemoryCluster[] = [];
  try {
    const pa = await prepare(a[0], a[1], a[2], clients, repMs);
    started.push(pa.cluster);
    const pb = await prepare(b[0], b[1], b[2], clients, repMs);
    started.push(pb.cluster);
    await ctx.measureInterleaved([pa.spec, pb.spec]);
    for (const c of started) {
      if (c.node('1').metrics.current.currentTerm !== 1)
        ctx.note(`${a[0]} / ${b[0]}: leadership changed, figures suspect`);
    }
  } finally {
    for (const c of started) await c.stop();
  }
}

export const bench: Bench = {
  name: 'pipelining',
  description:
    'pipelined stream vs one request in flight at 1 ms one-way delay (and a 0 ms control), default config 1 ms vs 0 ms, follower catch-up',
  budgetMs: { full: 240_000, quick: 120_000, smoke: 20_000 },
  async run(ctx) {
    const clients = ctx.size([256, 1024], [256, 1024], [256]);
    const repMs = ctx.size(1000, 250, 20);
    const behind = ctx.size(100_000, 100_000, 2_000);
    const pipelined: Partial<RaftConfig> = { maxPayloadEntries: 64 };
    const oneInFlight: Partial<RaftConfig> = { maxPayloadEntries: 64, maxInflightRequests: 1 };
    ctx.params({
      nodes: 3,
      entryBytes: ENTRY_BYTES,
      clients: clients.join(','),
      delayMs: 1,
      maxPayloadEntries: 64,
      pipelinedMaxInflight: DEFAULT_CONFIG.maxInflightRequests,
      oneInFlightMaxInflight: 1,
      defaultMaxPayloadEntries: DEFAULT_CONFIG.maxPayloadEntries,
      catchUpEntries: behind,
      repMs,
    });
    for (const c of clients) {
      for (const d of [1, 0]) {
        await pair(
          ctx,
          [`pipelined ${d}ms C=${c}`, pipelined, d],
          [`one-in-flight ${d}ms C=${c}`, oneInFlight, d],
          c,
          repMs,
        );
        ctx.ratio(
          `${d === 1 ? 'pipelined/one-in-flight' : 'control: pipelined/one-in-flight'} ${d}ms C=${c}`,
          `pipelined ${d}ms C=${c}`,
          `one-in-flight ${d}ms C=${c}`,
        );
      }
    }
    for (const c of clients) {
      await pair(ctx, [`default 1ms C=${c}`, {}, 1], [`default 0ms C=${c}`, {}, 0], c, repMs);
      ctx.ratio(`default 1ms/0ms C=${c}`, `default 1ms C=${c}`, `default 0ms C=${c}`);
    }

    // Catch-up: one cluster, the log filled once; each repetition adds a fresh learner.
    const cluster = await MemoryCluster.start({ config: { snapshotPolicy: { sinceLast: null } } });
    try {
      const leader = cluster.node('1');
      const batch = Array.from({ length: 1000 }, (_, i) => new Uint8Array(ENTRY_BYTES).fill(i & 0xff));
      for (let done = 0; done < behind; done += batch.length) {
        await leader.clientWriteMany(batch.slice(0, Math.min(batch.length, behind - done)));
      }
      const target = leader.metrics.current.lastLogIndex ?? 0;
      let next = 4;
      await ctx.measure('catch-up', { opsPerRep: target, reps: 3 }, async () => {
        const id = String(next++);
        const learner = await cluster.addNode(id);
        await leader.addLearner(id, { addr: id }, { blocking: false });
        await learner.wait({ timeoutMs: 120_000 }).until((m) => (m.lastLogIndex ?? 0) >= target);
      });
      ctx.result({ catchUpLastIndex: target });
    } finally {
      await cluster.stop();
    }
    ctx.note(
      'sanity bound: one request in flight carries at most 64 entries per round trip of ≥ 2 ms (1 ms each way), so one-in-flight at 1 ms cannot pass 32,000 writes/s; a pipelined figure above it is pipelining at work',
    );
    ctx.note(
      'one-in-flight = maxInflightRequests 1 on the same streamAppend path; the delay is a setTimeout per message each way, so real delays are ≥ 1 ms; catch-up entries/s counts the log the learner received',
    );
  },
};
