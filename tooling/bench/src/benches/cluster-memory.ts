/**
 * openraft's benchmark shape in this process: 3 Raft nodes on `@flotilla/memory` stores and the memory
 * router (which deep-copies every message), C clients each awaiting one 100-byte `clientWrite` at a
 * time; beside it, in the same run and interleaved repetition by repetition, the bookkeeping ceiling
 * (three arrays replicated and committed by majority, no Raft logic) at the same C.
 *
 * @module
 */
import type { Bench } from '../harness.ts';
import { BookkeepingCluster } from '../lib/bookkeeping.ts';
import { closedLoop, MemoryCluster, sizeForDuration } from '../lib/memory-cluster.ts';

const ENTRY_BYTES = 100;

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
    });
    const payloads = (n: number) =>
      Array.from({ length: n }, (_, i) => new Uint8Array(ENTRY_BYTES).fill(i & 0xff));

    const cluster = await MemoryCluster.start();
    try {
      const leader = cluster.node('1');
      // A fresh process runs the write path interpreted at first: write until the JIT settled (at
      // one client and at many, the two shapes of the path) so the first figures are not those of
      // a cold start.
      const warm = payloads(64);
      for (const c of [64, 1]) {
        const until = performance.now() + (c === 1 ? warmMs / 3 : warmMs);
        while (performance.now() < until)
          await closedLoop(c, c * 16, (k) => leader.clientWrite(warm[k] as Uint8Array));
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
        // Interleaved, repetition by repetition: a change in the machine's load hits both alike.
        await ctx.measureInterleaved([
          { label: `ceiling C=${c}`, opts: { opsPerRep: nc, reps }, fn: () => ceiling(nc) },
          { label: `raft C=${c}`, opts: { opsPerRep: nr, reps }, fn: () => raft(nr) },
        ]);
        ctx.ratio(`raft/ceiling C=${c}`, `raft C=${c}`, `ceiling C=${c}`);
      }
      const last = clients[clients.length - 1] as number;
      if (clients.includes(256) && last !== 256) {
        ctx.ratio(`raft C=${last} / C=256`, `raft C=${last}`, 'raft C=256');
      }
      const m = leader.metrics.current;
      if (m.state !== 'Leader' || m.currentTerm !== 1) {
        ctx.note(
          `leadership changed during the run (state ${m.state}, term ${m.currentTerm}): figures suspect`,
        );
      }
      ctx.result({ leaderTerm: m.currentTerm, lastLogIndex: m.lastLogIndex });
    } finally {
      await cluster.stop();
    }
    ctx.note(
      'one process: the three nodes share one event loop and CPU-µs per write covers all three; each write is its own log entry',
    );
  },
};
