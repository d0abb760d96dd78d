/**
 * The flotilla-kv processes of a run: start (from kv's TypeScript sources through its
 * `bin/flotilla-kv`, as kv's LocalCluster does), SIGKILL, SIGSTOP/SIGCONT, SIGTERM, restart on the
 * same data dir. Node `i` listens on its own loopback address `127.0.0.(10+i)`. Knows nothing of
 * Raft: who leads is the monitor's business.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN_PATH, freePort } from 'flotilla-kv';
import { httpCall } from './http.ts';

/** The life-cycle state of one node process as the harness sees it. */
export type NodeState = 'running' | 'paused' | 'killed' | 'stopped' | 'removed';

/** One node. */
export interface NodeInfo {
  readonly id: number;
  /** Its own loopback address. */
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly addr: string;
  readonly dataDir: string;
  state: NodeState;
  /** The live process (while running or paused). */
  proc?: ChildProcess | undefined;
  /** How many times it was started. */
  starts: number;
}

/** The loopback address of node `id`. */
export function nodeHost(id: number): string {
  if (!Number.isInteger(id) || id < 1 || id > 240) throw new RangeError(`node id ${id} out of 1..240`);
  return `127.0.0.${10 + id}`;
}

/** Options of {@link KvProcesses}. */
export interface KvProcessesOptions {
  /** Data dirs go to `<dir>/data/<id>`, logs to `<dir>/node-<id>.log`. */
  readonly dir: string;
  /** Extra arguments for every node (snapshot policy, capability flags). */
  readonly nodeArgs: (node: NodeInfo) => string[];
  /** How long a start may take before `/health` answers, ms (default 60 000). */
  readonly startTimeoutMs?: number;
  /** The executable (default kv's `bin/flotilla-kv`; the test entry for disk faults and planted bugs). */
  readonly bin?: string;
  /** Arguments before the node's own (e.g. `--test-mode --file-io volatile`). */
  readonly prefixArgs?: readonly string[];
}

/** The node processes of a run. */
export class KvProcesses {
  readonly nodes = new Map<number, NodeInfo>();
  readonly #opts: KvProcessesOptions;
  readonly #logs = new Map<number, WriteStream>();

  constructor(opts: KvProcessesOptions) {
    this.#opts = opts;
  }

  /** Registers node `id` with a free port on its address (not started). */
  async add(id: number): Promise<NodeInfo> {
    const host = nodeHost(id);
    const port = await freePort(host);
    const info: NodeInfo = {
      id,
      host,
      port,
      addr: `${host}:${port}`,
      dataDir: join(this.#opts.dir, 'data', String(id)),
      state: 'stopped',
      starts: 0,
    };
    this.nodes.set(id, info);
    return info;
  }

  /** Node `id`, or throws. */
  get(id: number): NodeInfo {
    const n = this.nodes.get(id);
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  }

  /** Nodes in one of `states`. */
  inState(...states: NodeState[]): NodeInfo[] {
    return [...this.nodes.values()].filter((n) => states.includes(n.state));
  }

  /** Starts (or restarts on the same dir) node `id`; resolves once `/health` answers. */
  async start(id: number): Promise<void> {
    const n = this.get(id);
    if (n.proc !== undefined) throw new Error(`node ${id} is already running`);
    await mkdir(n.dataDir, { recursive: true });
    let log = this.#logs.get(id);
    if (log === undefined) {
      log = createWriteStream(join(this.#opts.dir, `node-${id}.log`), { flags: 'a' });
      this.#logs.set(id, log);
    }
    const args = [
      this.#opts.bin ?? BIN_PATH,
      ...(this.#opts.prefixArgs ?? []),
      '--id',
      String(id),
      '--http-addr',
      n.addr,
      '--dir',
      n.dataDir,
    ];
    const child = spawn(process.execPath, [...args, ...this.#opts.nodeArgs(n)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The node stops by itself if the harness dies, even by SIGKILL.
      env: { ...process.env, FLOTILLA_KV_EXIT_WITH_PARENT: '1' },
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    n.proc = child;
    n.state = 'running';
    n.starts++;
    child.once('exit', () => {
      if (n.proc === child) n.proc = undefined;
      if (n.state === 'running' || n.state === 'paused') n.state = 'stopped';
    });
    const deadline = Date.now() + (this.#opts.startTimeoutMs ?? 60_000);
    for (;;) {
      if (n.proc !== child) throw new Error(`node ${id} exited while starting; see node-${id}.log`);
      const r = await httpCall(n.addr, '/health', undefined, 1000);
      if (r.type === 'reply' && r.status === 200) return;
      if (Date.now() > deadline) throw new Error(`node ${id} did not answer /health in time`);
      await sleep(100);
    }
  }

  /** Sends `signal` and, for terminating signals, waits for the exit. */
  async signal(id: number, signal: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    const n = this.get(id);
    const p = n.proc;
    if (p === undefined) return;
    if (signal === 'SIGSTOP') {
      p.kill('SIGSTOP');
      n.state = 'paused';
      return;
    }
    if (signal === 'SIGCONT') {
      p.kill('SIGCONT');
      n.state = 'running';
      return;
    }
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    if (n.state === 'paused') p.kill('SIGCONT');
    p.kill(signal);
    const t = signal === 'SIGTERM' ? setTimeout(() => p.kill('SIGKILL'), 5000) : undefined;
    await gone;
    if (t !== undefined) clearTimeout(t);
    n.state = signal === 'SIGKILL' ? 'killed' : 'stopped';
  }

  /** The pid of node `id`'s process, if running. */
  pid(id: number): number | undefined {
    return this.nodes.get(id)?.proc?.pid;
  }

  /** Stops every process (SIGTERM, SIGKILL after 5 s) and closes the logs. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.nodes.values()]
        .filter((n) => n.proc !== undefined)
        .map(async (n) => {
          const removed = n.state === 'removed';
          await this.signal(n.id, 'SIGTERM');
          if (removed) n.state = 'removed';
        }),
    );
    await Promise.all([...this.#logs.values()].map((l) => new Promise<void>((r) => l.end(() => r()))));
    this.#logs.clear();
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
