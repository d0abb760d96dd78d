/**
 * openraft's benchmark shape in this process: 3 Raft nodes on `@flotilla/memory` stores and the memory
 * router (which deep-copies every message), C clients each awaiting one 100-byte `clientWrite` at a
 * time; beside it, in the same run and interleaved repetition by repetition, the bookkeeping ceiling
 * (three arrays replicated and committed by majority, no Raft logic) at the same C.
 *
 * The cluster runs with `maxUncommittedEntries` (see {@link FLOW_LIMIT}); at the largest C a second
 * cluster without it (the default) is measured beside it, interleaved, so both figures are in one run.
 *
 * @module
 */
import type { Bench } from '../harness.ts';
import { BookkeepingCluster } from '../lib/bookkeeping.ts';
import { closedLoop, MemoryCluster, sizeForDuration } from '../lib/memory-cluster.ts';

const ENTRY_BYTES = 100;

/**
 * The leader's flow control for this CPU-bound, one-process cluster (`RaftConfig.maxUncommittedEntries`,
 * off by default): past 512 uncommitted entries new writes wait for the next commit and then go out
 * as one batch, so at thousands of clients the followers get full requests (300 entries) instead of
 * many small ones and a write's entries live a shorter time. It never binds at 256 clients or fewer.
 * Profiled at 4,096 clients without it: requests of ~150 entries, ~2,600 entries between append and
 * commit, and 0.5 CPU-µs more per write than at 256 (minor GC of in-flight entries, cache misses).
 */
const FLOW_LIMIT = 512;

export const bench: Bench = {
  name: 'cluster-memory',
  description:
    'in-process 3-node cluster (memory stores + copying router), C clients × one 100 B clientWrite each, vs the bookkeeping ceiling',
  budgetMs: { full: 120_000, quick: 60_000, smoke: 20_000 },
  async run(ctx) {
    const clients = ctx.size([1, 64, 256, 1024, 4096], [1, 64, 256, 1024, 4096], [1, 256, 4096]);
    // A quick repetition still covers dozens of rounds of every client at C = 4096 (at 200 ms the
    // ramp-up and drain of each closed loop were a tenth of it).
    const repMs = ctx.size(1000, 500, 20);
    const warmMs = ctx.size(3000, 1500, 50);
    const reps = 3;
    ctx.params({
      nodes: 3,
      entryBytes: ENTRY_BYTES,
      clients: clients.join(','),
      repMs,
      warmMs,
      store: 'memory',
      maxUncommittedEntries: FLOW_LIMIT,
    });
    const payloads = (n: number) =>
      Array.from({ length: n }, (_, i) => new Uint8Array(ENTRY_BYTES).fill(i & 0xff));

    const cluster = await MemoryCluster.start({ config: { maxUncommittedEntries: FLOW_LIMIT } });
    const last = clients[clients.length - 1] as number;
    // The default (no limit), for the largest C only.
    const plain = await MemoryCluster.start();
    try {
      const leader = cluster.node('1');
      const plainLeader = plain.node('1');
      // A fresh process runs the write path interpreted at first: write until the JIT settled (at
      // one client and at many, the two shapes of the path) so the first figures are not those of
      // a cold start.
      const warm = payloads(64);
      for (const node of [leader, plainLeader]) {
        for (const c of [64, 1]) {
          const until = performance.now() + (c === 1 ? warmMs / 3 : warmMs);
          while (performance.now() < until)
            await closedLoop(c, c * 16, (k) => node.clientWrite(warm[k] as Uint8Array));
        }
      }
      for (const c of clients) {
        const data = payloads(c);
        const ceiling = async (n: number) => {
          const b = new BookkeepingCluster();
          await closedLoop(c, n, (k) => b.write(data[k] as Uint8Array));
          if (b.committed !== n) throw new Error(`ceiling committed ${b.committed} of ${n}`);
        };
        const raft = (n: number) => closedLoop(c, n, (k) => leader.clientWrite(data[k] as Uint8Array));
        const nc = await sizeForDuration(ceiling, repMs, c, c);
        const nr = await sizeForDuration(raft, repMs, c, c);
        const series = [
          { label: `ceiling C=${c}`, opts: { opsPerRep: nc, reps }, fn: () => ceiling(nc) },
          { label: `raft C=${c}`, opts: { opsPerRep: nr, reps }, fn: () => raft(nr) },
        ];
        if (c === last && c > 256) {
          const noLimit = (n: number) =>
            closedLoop(c, n, (k) => plainLeader.clientWrite(data[k] as Uint8Array));
          const np = await sizeForDuration(noLimit, repMs, c, c);
          series.push({
            label: `raft C=${c} no limit`,
            opts: { opsPerRep: np, reps },
            fn: () => noLimit(np),
          });
        }
        // Interleaved, repetition by repetition: a change in the machine's load hits all alike.
        await ctx.measureInterleaved(series);
        ctx.ratio(`raft/ceiling C=${c}`, `raft C=${c}`, `ceiling C=${c}`);
      }
      if (clients.includes(256) && last > 256) {
        ctx.ratio(`raft C=${last} / C=256`, `raft C=${last}`, 'raft C=256');
        ctx.ratio(`raft C=${last} no limit / C=256`, `raft C=${last} no limit`, 'raft C=256');
      }
      for (const node of [leader, plainLeader]) {
        const m = node.metrics.current;
        if (m.state !== 'Leader' || m.currentTerm !== 1) {
          ctx.note(
            `leadership changed during the run (state ${m.state}, term ${m.currentTerm}): figures suspect`,
          );
        }
      }
      const m = leader.metrics.current;
      ctx.result({ leaderTerm: m.currentTerm, lastLogIndex: m.lastLogIndex });
    } finally {
      await cluster.stop();
      await plain.stop();
    }
    ctx.note(
      `one process: the three nodes share one event loop and CPU-µs per write covers all three; each write is its own log entry; maxUncommittedEntries ${FLOW_LIMIT} ("no limit": the default, a second cluster)`,
    );
  },
};
