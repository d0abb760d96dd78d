/**
 * A durable 3-process cluster on loopback: each node its own process (`lib/procs/durable-node.ts`),
 * Raft over the TCP transport, the file log store with `fdatasync` (committed id persisted in the
 * background, as flotilla-kv runs it), against the 3-process floor calibration measured in the same
 * run: the same three processes' shape with no Raft logic (TCP + msgpackr + group-commit
 * `fdatasync`, commit by majority), interleaved repetition by repetition. C clients inside the leader process each await one 100-byte
 * write at a time: writes/s, commit latency p50/p99, entries per `fdatasync` (leader and
 * followers), and CPU-µs per write summed over the three processes (from `/proc/<pid>/stat`).
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bench, BenchContext } from '../harness.ts';
import { sizeForDuration } from '../lib/memory-cluster.ts';
import { ChildWorker } from '../lib/proc.ts';
import { REPO_ROOT } from '../runner.ts';

const NODE_SCRIPT = join(import.meta.dirname, '..', 'lib', 'procs', 'durable-node.ts');
const ENTRY_BYTES = 100;

type Mode = 'floor' | 'raft';

class DurableCluster {
  readonly mode: Mode;
  readonly workers: ChildWorker[];
  constructor(mode: Mode, workers: ChildWorker[]) {
    this.mode = mode;
    this.workers = workers;
  }

  static async start(mode: Mode, dir: string): Promise<DurableCluster> {
    const workers = ['1', '2', '3'].map(() => new ChildWorker(NODE_SCRIPT));
    const c = new DurableCluster(mode, workers);
    try {
      const ports = await Promise.all(
        workers.map((w, i) =>
          w.call<{ port: number }>('start', { mode, id: String(i + 1), dir: join(dir, `${mode}-${i + 1}`) }),
        ),
      );
      const addrs = Object.fromEntries(ports.map((p, i) => [String(i + 1), `127.0.0.1:${p.port}`]));
      // Followers first: the floor's leader connects to them, the Raft leader initializes.
      for (const w of [...workers].reverse()) await w.call('peers', { addrs });
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  load(clients: number, total: number): Promise<{ seconds: number; latenciesMs: number[] }> {
    return (this.workers[0] as ChildWorker).call('load', { clients, total, bytes: ENTRY_BYTES });
  }

  stats(): Promise<{ entries: number; syncs: number }[]> {
    return Promise.all(this.workers.map((w) => w.call<{ entries: number; syncs: number }>('stats')));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/** The workload at `clients` on `c`, sized to `repMs`, and what to record once it was measured. */
async function prepare(c: DurableCluster, clients: number, repMs: number) {
  const label = `${c.mode} C=${clients}`;
  const n = await sizeForDuration(
    async (k) => {
      await c.load(clients, k);
    },
    repMs,
    clients,
    clients,
  );
  let lat: number[] = [];
  let runs = 0;
  let before = await c.stats();
  const spec = {
    label,
    opts: { opsPerRep: n, reps: 3, pids: () => c.pids },
    fn: async () => {
      const r = await c.load(clients, n);
      // The warm-up repetition (the first run) is left out of the latencies and the sync counts.
      if (runs++ === 0) {
        before = await c.stats();
        return;
      }
      lat = lat.concat(r.latenciesMs);
    },
  };
  const finish = async (ctx: BenchContext) => {
    const after = await c.stats();
    ctx.latency(`${label} commit`, lat, 'ms');
    const perSync = after.map((a, i) => {
      const b = before[i] as { entries: number; syncs: number };
      const syncs = a.syncs - b.syncs;
      return syncs > 0 ? (a.entries - b.entries) / syncs : null;
    });
    ctx.result({
      [`${label}.leaderEntriesPerSync`]: round(perSync[0] ?? null),
      [`${label}.followerEntriesPerSync`]: round(
        perSync[1] === null || perSync[2] === null
          ? null
          : ((perSync[1] as number) + (perSync[2] as number)) / 2,
      ),
    });
  };
  return { spec, finish };
}

function round(x: number | null): number | null {
  return x === null ? null : Math.round(x * 10) / 10;
}

export const bench: Bench = {
  name: 'cluster-durable',
  description:
    '3 processes, TCP, file store with fdatasync: C = 1, 256, 1024 writes vs a 3-process floor (TCP + msgpackr + group-commit fdatasync, no Raft)',
  budgetMs: { full: 180_000, quick: 90_000, smoke: 30_000 },
  async run(ctx) {
    const clients = ctx.size([1, 256, 1024], [1, 256, 1024], [1, 256]);
    const repMs = ctx.size(1500, 400, 40);
    ctx.params({
      nodes: 3,
      entryBytes: ENTRY_BYTES,
      clients: clients.join(','),
      repMs,
      transport: 'tcp loopback',
      store: 'file, fdatasync, committedFlushMs 1000 (as flotilla-kv)',
    });
    const dir = await mkdtemp(join(REPO_ROOT, 'bench-results', '.durable-'));
    const clusters: DurableCluster[] = [];
    try {
      const floor = await DurableCluster.start('floor', dir);
      clusters.push(floor);
      const raft = await DurableCluster.start('raft', dir);
      clusters.push(raft);
      for (const c of clients) {
        // Interleaved, repetition by repetition: a change in the machine's load hits both alike.
        const f = await prepare(floor, c, repMs);
        const r = await prepare(raft, c, repMs);
        await ctx.measureInterleaved([f.spec, r.spec]);
        await f.finish(ctx);
        await r.finish(ctx);
        ctx.ratio(`raft/floor C=${c}`, `raft C=${c}`, `floor C=${c}`);
      }
    } finally {
      await Promise.all(clusters.map((c) => c.stop()));
      await rm(dir, { recursive: true, force: true });
    }
    ctx.note(
      'clients run inside the leader process; latency = clientWrite call → resolve (commit + apply for raft, majority durable for the floor); servers CPU-µs/op sums the three processes (/proc/<pid>/stat)',
    );
  },
};
