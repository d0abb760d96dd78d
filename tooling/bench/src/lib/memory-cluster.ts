/**
 * An in-process Raft cluster on `@flotilla/memory` (log stores, a counting state machine and the
 * router, which deep-copies every message as a wire would), and the closed-loop client driver the
 * in-process benchmarks share.
 *
 * @module
 */
import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft, type RaftConfig } from '@flotilla/raft';
import type { NodeId } from '@flotilla/types';

/** The node type of these clusters: 100-byte (or any) payloads, a counter as state. */
export type BenchRaft = Raft<Uint8Array, number>;

/** Timing that keeps a loaded, single-threaded cluster from electing spuriously (as flotilla-kv). */
export const BENCH_TIMING: Partial<RaftConfig> = {
  heartbeatIntervalMs: 100,
  electionTimeoutMinMs: 1000,
  electionTimeoutMaxMs: 2000,
};

/** Options of {@link startMemoryCluster}. */
export interface MemoryClusterOptions {
  /** Voters (ids `1..n`), default 3. */
  readonly voters?: number;
  /** Raft configuration over {@link BENCH_TIMING}. */
  readonly config?: Partial<RaftConfig>;
  /** Whether the router offers `streamAppend` (default true). */
  readonly streamAppend?: boolean;
}

/** A running in-process cluster. */
export class MemoryCluster {
  readonly router: MemoryRouter;
  readonly nodes = new Map<NodeId, BenchRaft>();
  readonly #config: Partial<RaftConfig>;

  private constructor(router: MemoryRouter, config: Partial<RaftConfig>) {
    this.router = router;
    this.#config = config;
  }

  /** Starts the voters, initializes them through node 1 and waits until node 1 leads. */
  static async start(opts: MemoryClusterOptions = {}): Promise<MemoryCluster> {
    const router = new MemoryRouter({ streamAppend: opts.streamAppend ?? true });
    const c = new MemoryCluster(router, { ...BENCH_TIMING, ...opts.config });
    const ids = Array.from({ length: opts.voters ?? 3 }, (_, i) => String(i + 1));
    try {
      for (const id of ids) await c.addNode(id);
      const leader = c.node('1');
      await leader.initialize(Object.fromEntries(ids.map((id) => [id, { addr: id }])));
      await leader.wait({ timeoutMs: 10_000 }).state('Leader');
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** Creates node `id` (not a member yet) and registers it with the router. */
  async addNode(id: NodeId): Promise<BenchRaft> {
    const raft = await Raft.create<Uint8Array, number>({
      id,
      config: this.#config,
      network: this.router.factory(id),
      logStore: memoryLogStore(),
      stateMachine: memoryStateMachine<number, Uint8Array, number>({
        initial: 0,
        apply: (s) => [s + 1, s + 1] as const,
      }),
    });
    this.router.register(id, raft);
    this.nodes.set(id, raft);
    return raft;
  }

  /** Node `id`. */
  node(id: NodeId): BenchRaft {
    const n = this.nodes.get(id);
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  }

  /** Shuts every node down. */
  async stop(): Promise<void> {
    for (const [id, n] of this.nodes) {
      this.router.unregister(id);
      await n.shutdown().catch(() => {});
    }
    this.nodes.clear();
  }
}

/**
 * `clients` closed loops, each awaiting one `write()` at a time, `total` writes in all (a multiple of
 * `clients` is best; the remainder goes to the first loops). Rejects on the first failed write.
 */
export async function closedLoop(
  clients: number,
  total: number,
  write: (client: number) => Promise<unknown>,
): Promise<void> {
  const base = Math.floor(total / clients);
  const extra = total % clients;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const n = base + (c < extra ? 1 : 0);
      for (let i = 0; i < n; i++) await write(c);
    }),
  );
}

/**
 * How many operations make one repetition last about `repMs`: runs `probe(n)` with a growing `n`
 * (from `start`) until it takes at least 50 ms, then scales. Always a multiple of `multiple`.
 */
export async function sizeForDuration(
  probe: (n: number) => Promise<void>,
  repMs: number,
  start: number,
  multiple = 1,
): Promise<number> {
  let n = Math.max(start, multiple);
  for (;;) {
    const t0 = performance.now();
    await probe(n);
    const ms = performance.now() - t0;
    if (ms >= 50 || n >= 1e7) {
      const target = Math.max(1, Math.round((n * repMs) / Math.max(ms, 1e-3)));
      return Math.max(multiple, Math.round(target / multiple) * multiple);
    }
    n *= 4;
  }
}
