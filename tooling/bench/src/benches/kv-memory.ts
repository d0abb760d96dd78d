/**
 * Memory per flotilla-kv node as its log grows: a 3-voter cluster with snapshots (and so purges) off,
 * filled with 100-byte writes through HTTP (256 clients) up to 1,000,000 entries (20,000 with
 * `--quick`; `--entries=N` for another count); each node's resident set size (`VmRSS`) before and
 * after, the V8 heap after a full collection, and the growth per entry. The fill rate is recorded too, but it is not the point.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bench } from '../harness.ts';
import { procRssBytes } from '../lib/proc.ts';
import { closedLoopHttp, KvHttpCluster, loadAgent } from '../lib/servers.ts';
import { REPO_ROOT } from '../runner.ts';

const MIB = 1024 * 1024;

export const bench: Bench = {
  name: 'kv-memory',
  description:
    'resident memory per flotilla-kv node with a 1,000,000-entry log (snapshots off), 100 B entries',
  budgetMs: { full: 1_800_000, quick: 120_000, smoke: 40_000 },
  async run(ctx) {
    const arg = ctx.args.find((a) => a.startsWith('--entries='));
    const entries =
      arg === undefined ? ctx.size(1_000_000, 20_000, 500) : Number(arg.slice('--entries='.length));
    if (!(Number.isInteger(entries) && entries > 0)) throw new Error(`bad --entries: ${arg}`);
    const clients = 256;
    ctx.params({ voters: 3, entries, entryBytes: 100, clients, snapshots: 'off' });
    const dir = await mkdtemp(join(REPO_ROOT, 'bench-results', '.kv-memory-'));
    // --expose-gc: the heap is measured after a full collection, so it counts what the log keeps.
    const cluster = await KvHttpCluster.start(
      3,
      dir,
      ['--snapshot-every', String(entries * 10)],
      ['--expose-gc'],
    );
    try {
      const rss = () => cluster.pids.map((p) => procRssBytes(p) ?? 0);
      const heap = async () =>
        Promise.all(cluster.pids.map(async (_, i) => (await cluster.memoryUsage(i))?.heapUsed ?? 0));
      const heapBefore = await heap();
      const before = rss();
      const agent = loadAgent(clients);
      const chunk = Math.max(clients, Math.min(entries, 50_000));
      let done = 0;
      let seconds = 0;
      try {
        while (done < entries) {
          const n = Math.min(chunk, entries - done);
          // Distinct keys: the state machine grows too, as a real log's would.
          const r = await closedLoopHttp(cluster, agent, 'write', Math.min(clients, n), n, 100, 1_000_000);
          done += n;
          seconds += r.seconds;
          if (ctx.signal.aborted) throw ctx.signal.reason;
        }
      } finally {
        agent.destroy();
      }
      // Let the followers' apply settle (the heap figure collects garbage itself).
      await new Promise((r) => setTimeout(r, ctx.size(1000, 1000, 0)));
      if (!cluster.alive()) throw new Error('a kv node exited during the fill');
      const heapAfter = await heap();
      const after = rss();
      const out: Record<string, number> = { fillWritesPerSec: Math.round(done / seconds) };
      for (const [i, a] of after.entries()) {
        const role = i === cluster.leaderIndex ? 'leader' : `follower${i + 1}`;
        out[`${role}.rssBeforeMiB`] = Math.round(((before[i] ?? 0) / MIB) * 10) / 10;
        out[`${role}.rssAfterMiB`] = Math.round((a / MIB) * 10) / 10;
        out[`${role}.rssBytesPerEntry`] = Math.round((a - (before[i] ?? 0)) / done);
        out[`${role}.heapAfterMiB`] = Math.round(((heapAfter[i] ?? 0) / MIB) * 10) / 10;
        out[`${role}.heapBytesPerEntry`] = Math.round(((heapAfter[i] ?? 0) - (heapBefore[i] ?? 0)) / done);
      }
      ctx.result(out);
    } finally {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    }
    ctx.note(
      'heap = V8 heapUsed after a full GC (node --expose-gc, through the preloaded monitor); RSS also holds freed heap pages and buffers; per entry = (after − before) / entries, the state machine (distinct keys) included',
    );
  },
};
