/**
 * Watches the cluster through each node's `/metrics` (twice a second by default): leaders per term
 * (elections observed), snapshots taken or installed, snapshot transfers the leader reports, and
 * the latest metrics of every node for leader lookups and the convergence wait. Read-only: it never
 * changes the cluster.
 */
import { httpCall, isObject } from './http.ts';
import { type KvProcesses, sleep } from './processes.ts';

/** The fields of kv's `/metrics` the harness reads. */
export interface NodeMetrics {
  readonly id: number;
  readonly state: string;
  readonly currentTerm: number;
  readonly currentLeader: number | null;
  readonly lastLogIndex: number | null;
  readonly committed: number | null;
  readonly lastApplied: number | null;
  readonly snapshot: number | null;
  /** Voter ids of the membership config(s), and every node (voters and learners). */
  readonly voters: number[];
  readonly members: number[];
  /** Leader only: target id → replication mode. */
  readonly modes: Record<string, string> | null;
}

const index = (v: unknown): number | null => (isObject(v) && typeof v.index === 'number' ? v.index : null);

/** Parses a `/metrics` reply body; `undefined` when it is not one. */
export function parseMetrics(body: unknown): NodeMetrics | undefined {
  if (!isObject(body) || !isObject(body.Ok)) return undefined;
  const m = body.Ok;
  if (typeof m.id !== 'number' || typeof m.state !== 'string' || typeof m.current_term !== 'number')
    return undefined;
  const mc =
    isObject(m.membership_config) && isObject(m.membership_config.membership)
      ? m.membership_config.membership
      : {};
  const configs = Array.isArray(mc.configs) ? (mc.configs as unknown[]) : [];
  const voters = new Set<number>();
  for (const c of configs) if (Array.isArray(c)) for (const v of c) if (typeof v === 'number') voters.add(v);
  const members = isObject(mc.nodes) ? Object.keys(mc.nodes).map(Number) : [];
  return {
    id: m.id,
    state: m.state,
    currentTerm: m.current_term,
    currentLeader: typeof m.current_leader === 'number' ? m.current_leader : null,
    lastLogIndex: typeof m.last_log_index === 'number' ? m.last_log_index : null,
    committed: index(m.committed),
    lastApplied: index(m.last_applied),
    snapshot: index(m.snapshot),
    voters: [...voters].sort((a, b) => a - b),
    members: members.sort((a, b) => a - b),
    modes: isObject(m.replication_mode) ? (m.replication_mode as Record<string, string>) : null,
  };
}

/** Fetches node metrics; `undefined` when the node does not answer in `timeoutMs`. */
export async function fetchMetrics(addr: string, timeoutMs = 500): Promise<NodeMetrics | undefined> {
  const r = await httpCall(addr, '/metrics', undefined, timeoutMs);
  return r.type === 'reply' ? parseMetrics(r.body) : undefined;
}

/** The cluster monitor. */
export class Monitor {
  readonly #procs: KvProcesses;
  readonly #intervalMs: number;
  #running = false;
  #loop: Promise<void> | undefined;
  /** Term → the node seen leading it. */
  readonly leaders = new Map<number, number>();
  /** Distinct (node, snapshot index) pairs seen: snapshots built or installed. */
  readonly snapshots = new Set<string>();
  /** Times a leader was seen starting a snapshot transfer to a target. */
  snapshotTransfers = 0;
  readonly #inSnapshotMode = new Set<string>();
  /** The latest metrics of each node. */
  readonly latest = new Map<number, NodeMetrics>();

  constructor(procs: KvProcesses, intervalMs = 500) {
    this.#procs = procs;
    this.#intervalMs = intervalMs;
  }

  /** Starts polling. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        await this.poll();
        await sleep(this.#intervalMs);
      }
    })();
  }

  /** Stops polling. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Polls every running node once and records what it sees. */
  async poll(): Promise<void> {
    const nodes = this.#procs.inState('running');
    const all = await Promise.all(nodes.map(async (n) => [n.id, await fetchMetrics(n.addr)] as const));
    for (const [id, m] of all) {
      if (m === undefined) continue;
      this.latest.set(id, m);
      if (m.state === 'Leader') this.leaders.set(m.currentTerm, id);
      if (m.snapshot !== null) this.snapshots.add(`${id}:${m.snapshot}`);
      if (m.state === 'Leader' && m.modes !== null) {
        for (const [target, mode] of Object.entries(m.modes)) {
          const k = `${m.currentTerm}:${target}`;
          if (mode === 'snapshot' && !this.#inSnapshotMode.has(k)) {
            this.#inSnapshotMode.add(k);
            this.snapshotTransfers++;
          } else if (mode !== 'snapshot') {
            this.#inSnapshotMode.delete(k);
          }
        }
      }
    }
  }

  /**
   * The current leader: a running node reporting itself leader at the highest term, polling until
   * `timeoutMs` passes; `undefined` if none showed up.
   */
  async leader(timeoutMs = 5000): Promise<NodeMetrics | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nodes = this.#procs.inState('running');
      const ms = await Promise.all(nodes.map((n) => fetchMetrics(n.addr)));
      let best: NodeMetrics | undefined;
      for (const m of ms) {
        if (m?.state === 'Leader' && (best === undefined || m.currentTerm > best.currentTerm)) best = m;
      }
      if (best !== undefined) {
        this.leaders.set(best.currentTerm, best.id);
        return best;
      }
      if (Date.now() > deadline) return undefined;
      await sleep(100);
    }
  }
}
