import {
  type MemoryLogState,
  type MemoryLogStore,
  MemoryRouter,
  type MemoryStateMachine,
  type MemoryStoredSnapshot,
  memoryLogStore,
  memoryStateMachine,
} from '@flotilla/memory';
import { type Logger, Raft, type RaftConfigInput, withClientSessions } from '@flotilla/raft';
import type { Node, NodeId, RaftMetrics, RaftNetworkFactory, RaftStateMachine } from '@flotilla/types';

/** The application of the cluster tests: a key-value map; a write answers with the previous value. */
export type Cmd = { key: string; value: number };
/** The previous value of the key (`null` when unset). */
export type Resp = number | null;
/** The key-value state. */
export type KvState = Record<string, number>;

/** Real-timer settings for 2 shared cores: generous, never asserted as speeds. */
export const CONFIG: RaftConfigInput = {
  heartbeatIntervalMs: 50,
  electionTimeoutMinMs: 400,
  electionTimeoutMaxMs: 800,
  snapshotPolicy: { sinceLast: null },
};

/** Default wait for cluster conditions. */
export const WAIT = { timeoutMs: 10_000 };

/** One node of a test cluster, with its stores kept apart so it can be restarted. */
export interface TestNode {
  id: NodeId;
  raft: Raft<Cmd, Resp>;
  store: MemoryLogStore;
  sm: MemoryStateMachine<KvState, Cmd, Resp>;
  /** Applications of normal entries on this node, in order (for total-order checks). */
  applied: { index: number; cmd: Cmd }[];
}

/** A cluster of in-memory nodes over one router. */
export class TestCluster {
  readonly router = new MemoryRouter();
  readonly nodes = new Map<NodeId, TestNode>();
  readonly config: RaftConfigInput;

  constructor(config: RaftConfigInput = {}) {
    this.config = { ...CONFIG, ...config };
  }

  /** Starts (or restarts, from `state`) a node and registers it with the router. */
  async start(
    id: NodeId,
    opts: {
      state?: MemoryLogState;
      snapshot?: MemoryStoredSnapshot | null;
      config?: RaftConfigInput;
      logger?: Logger;
      /** Wraps the node's state machine (e.g. to add a snapshot receive spool). */
      wrap?: (sm: RaftStateMachine<Cmd, Resp>) => RaftStateMachine<Cmd, Resp>;
    } = {},
  ): Promise<TestNode> {
    const store = memoryLogStore(opts.state === undefined ? {} : { initial: opts.state });
    const applied: { index: number; cmd: Cmd }[] = [];
    const sm = memoryStateMachine<KvState, Cmd, Resp>({
      initial: {},
      apply: (s, d, logId) => {
        applied.push({ index: logId.index, cmd: d });
        return [{ ...s, [d.key]: d.value }, s[d.key] ?? null] as const;
      },
      ...(opts.snapshot ? { snapshot: opts.snapshot } : {}),
    });
    const raft = await Raft.create<Cmd, Resp>({
      id,
      config: { ...this.config, ...opts.config },
      network: this.router.factory(id),
      logStore: store,
      stateMachine: withClientSessions(opts.wrap === undefined ? sm : opts.wrap(sm)) as RaftStateMachine<
        Cmd,
        Resp
      >,
      ...(opts.logger === undefined ? {} : { logger: opts.logger }),
    });
    this.router.register(id, raft);
    const node: TestNode = { id, raft, store, sm, applied };
    this.nodes.set(id, node);
    return node;
  }

  /** Starts every node in `ids`, initializes the voters `voters` (default: all) from the first. */
  static async create(
    ids: NodeId[],
    opts: { voters?: NodeId[]; config?: RaftConfigInput } = {},
  ): Promise<TestCluster> {
    const c = new TestCluster(opts.config);
    for (const id of ids) await c.start(id);
    const voters = opts.voters ?? ids;
    await c.node(voters[0] as NodeId).raft.initialize(nodesOf(voters));
    await c.leader();
    return c;
  }

  /** The node `id`. */
  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The `Raft` of node `id`. */
  raft(id: NodeId): Raft<Cmd, Resp> {
    return this.node(id).raft;
  }

  /** Waits until some node is leader and every node in `among` agrees; returns its id. */
  async leader(among?: NodeId[]): Promise<NodeId> {
    const ids = among ?? [...this.nodes.keys()];
    const first = this.raft(ids[0] as NodeId);
    for (;;) {
      const m = await first
        .wait(WAIT)
        .until((x) => x.currentLeader !== null && ids.includes(x.currentLeader), 'a leader');
      const id = m.currentLeader as NodeId;
      const n = this.nodes.get(id);
      if (n === undefined) continue;
      const lm = await n.raft.wait(WAIT).until((x) => x.state === 'Leader' || x.currentLeader !== id);
      if (lm.state !== 'Leader') continue;
      // The leader has committed its blank entry: everything before it is committed.
      await n.raft.wait(WAIT).until((x) => x.committed !== null && x.committed.term === x.currentTerm);
      return id;
    }
  }

  /** Waits until every node in `ids` (default: all) applied `index`. */
  async applied(index: number, ids?: NodeId[]): Promise<void> {
    for (const id of ids ?? [...this.nodes.keys()]) {
      await this.raft(id).wait(WAIT).appliedIndex(index, `${id} to apply ${index}`);
    }
  }

  /** Stops a node as a crash: unflushed log writes are lost; returns its durable log state. */
  async crash(id: NodeId): Promise<MemoryLogState> {
    return (await this.crashWithSnapshot(id)).state;
  }

  /** Like `crash`, and also returns the state machine's stored snapshot (applied state is lost). */
  async crashWithSnapshot(
    id: NodeId,
  ): Promise<{ state: MemoryLogState; snapshot: MemoryStoredSnapshot | null }> {
    const n = this.node(id);
    this.router.unregister(id);
    const state = n.store.crash();
    const snapshot = n.sm.durableSnapshot();
    await n.raft.shutdown();
    this.nodes.delete(id);
    return { state, snapshot };
  }

  /** Shuts every node down. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.raft.shutdown()));
  }

  /** The metrics of every node. */
  metrics(): Record<NodeId, RaftMetrics> {
    return Object.fromEntries([...this.nodes].map(([id, n]) => [id, n.raft.metrics.current]));
  }
}

/** `{id: {addr: id}}` for each id. */
/**
 * Node `a` of a three-voter cluster {a, b, c} whose peers exist only as `network` (no real peers run),
 * pushed onto `track` so the test's `afterEach` shuts it down.
 */
export async function lonelyNode(
  network: RaftNetworkFactory,
  track: Raft<Cmd, Resp>[],
): Promise<Raft<Cmd, Resp>> {
  const raft = await Raft.create<Cmd, Resp>({
    id: 'a',
    config: CONFIG,
    network,
    logStore: memoryLogStore(),
    stateMachine: memoryStateMachine<KvState, Cmd, Resp>({
      initial: {},
      apply: (s, d) => [{ ...s, [d.key]: d.value }, s[d.key] ?? null] as const,
    }),
  });
  track.push(raft);
  return raft;
}

/**
 * Counter node `id` on `router` (memory stores, a state machine summing the numbers written),
 * registered with the router and pushed onto `track` so the test's `afterEach` shuts it down.
 */
export async function counterNode(
  router: MemoryRouter,
  id: NodeId,
  track: Raft<number, number>[],
  opts: { config?: RaftConfigInput; logger?: Logger; network?: RaftNetworkFactory } = {},
): Promise<Raft<number, number>> {
  const raft = await Raft.create<number, number>({
    id,
    config: opts.config ?? CONFIG,
    network: opts.network ?? router.factory(id),
    logStore: memoryLogStore(),
    stateMachine: memoryStateMachine<number, number, number>({
      initial: 0,
      apply: (s, n) => [s + n, s + n] as const,
    }),
    ...(opts.logger === undefined ? {} : { logger: opts.logger }),
  });
  router.register(id, raft);
  track.push(raft);
  return raft;
}

export function nodesOf(ids: NodeId[]): Record<NodeId, Node> {
  return Object.fromEntries(ids.map((id) => [id, { addr: id }]));
}

/** The key-value state of a node. */
export function kv(n: TestNode): KvState {
  return n.sm.state;
}

/** Sleeps on the real clock. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The error `code` of a rejected promise (fails the test if it resolves). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  throw new Error('expected a rejection');
}

/** A logger that records every line, for tests that assert what a node reported. */
export function recordingLogger(): Logger & {
  lines: { level: string; msg: string; fields?: Record<string, unknown> }[];
} {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(fields === undefined ? { level, msg } : { level, msg, fields });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
