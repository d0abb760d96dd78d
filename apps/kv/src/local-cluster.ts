import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from './client.ts';

/** The development entry that starts a node from the TypeScript sources (`apps/kv/bin/flotilla-kv`). */
export const BIN_PATH: string = fileURLToPath(new URL('../bin/flotilla-kv', import.meta.url));

/**
 * The built entry that starts a node (`apps/kv/dist/main.js`, made by `pnpm build`): plain
 * JavaScript on the workspace packages' built `dist`, what a deployment runs. Absent until built.
 */
export const BUILT_BIN_PATH: string = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/**
 * The entry a {@link LocalCluster} starts by default: the one this module itself runs from, so the
 * built CLI (`dist/main.js … cluster`, `… demo`) starts built nodes and the sources start sources.
 */
export const DEFAULT_BIN_PATH: string = import.meta.url.endsWith('.js') ? BUILT_BIN_PATH : BIN_PATH;

/** Options of {@link LocalCluster.start}. */
export interface LocalClusterOptions {
  /** Node count (ids 1..n). */
  nodes: number;
  /** Parent directory: node `i` keeps its data in `<dir>/<i>` and logs to `<dir>/node-<i>.log`. */
  dir: string;
  /** First port (node `i` gets `basePort + i - 1`); 0 (default) picks free ports. */
  basePort?: number;
  /** Host to listen on (default 127.0.0.1). */
  host?: string;
  /** Extra arguments for every node (e.g. `--snapshot-every 100`). */
  nodeArgs?: string[];
  /** How long to wait for each node to answer `/health`, in ms (default 30 000). */
  startTimeoutMs?: number;
  /** The executable that starts a node (default {@link DEFAULT_BIN_PATH}). */
  bin?: string;
}

/** Picks a free TCP port on `host` (bind to 0, read, release). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r, j) => {
    s.once('error', j);
    s.listen(0, host, () => r());
  });
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A cluster of flotilla-kv processes on this machine, one per node: start, initialize, kill
 * (SIGKILL or SIGTERM), restart with the same data directory, stop.
 */
export class LocalCluster {
  /** Node id → `host:port`. */
  readonly addrs: Map<number, string>;
  /** Parent data directory. */
  readonly dir: string;
  readonly #procs = new Map<number, ChildProcess>();
  readonly #logs = new Map<number, WriteStream>();
  readonly #nodeArgs: string[];
  readonly #startTimeoutMs: number;
  readonly #bin: string;

  private constructor(
    dir: string,
    addrs: Map<number, string>,
    nodeArgs: string[],
    startTimeoutMs: number,
    bin: string,
  ) {
    this.dir = dir;
    this.addrs = addrs;
    this.#nodeArgs = nodeArgs;
    this.#startTimeoutMs = startTimeoutMs;
    this.#bin = bin;
  }

  /** Picks ports and starts every node (not yet initialized); resolves once all answer `/health`. */
  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const host = opts.host ?? '127.0.0.1';
    const addrs = new Map<number, string>();
    for (let i = 1; i <= opts.nodes; i++) {
      const port = opts.basePort ? opts.basePort + i - 1 : await freePort(host);
      addrs.set(i, `${host}:${port}`);
    }
    await mkdir(opts.dir, { recursive: true });
    const c = new LocalCluster(
      opts.dir,
      addrs,
      opts.nodeArgs ?? [],
      opts.startTimeoutMs ?? 30_000,
      opts.bin ?? DEFAULT_BIN_PATH,
    );
    try {
      await Promise.all([...addrs.keys()].map((id) => c.startNode(id)));
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** A client knowing every node (`requestTimeoutMs` bounds each request; default 10 s). */
  client(opts: { requestTimeoutMs?: number } = {}): KvClient {
    return new KvClient([...this.addrs.values()], opts);
  }

  /** The address of node `id`. */
  addr(id: number): string {
    const a = this.addrs.get(id);
    if (a === undefined) throw new RangeError(`no node ${id}`);
    return a;
  }

  /** Whether node `id` has a live process. */
  isRunning(id: number): boolean {
    const p = this.#procs.get(id);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Adds a node id (with a fresh free port) without starting it. */
  async addNodeId(id: number, host = '127.0.0.1'): Promise<string> {
    const addr = `${host}:${await freePort(host)}`;
    this.addrs.set(id, addr);
    return addr;
  }

  /** Starts (or restarts) node `id` on its address and data dir; resolves once it answers `/health`. */
  async startNode(id: number): Promise<void> {
    if (this.isRunning(id)) throw new Error(`node ${id} is already running`);
    const addr = this.addr(id);
    let log = this.#logs.get(id);
    if (log === undefined) {
      log = createWriteStream(join(this.dir, `node-${id}.log`), { flags: 'a' });
      this.#logs.set(id, log);
    }
    const args = [this.#bin, '--id', String(id), '--http-addr', addr, '--dir', join(this.dir, String(id))];
    // FLOTILLA_KV_EXIT_WITH_PARENT: if this process dies, even by SIGKILL, the node notices it was
    // re-parented and stops instead of lingering.
    const child = spawn(process.execPath, [...args, ...this.#nodeArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FLOTILLA_KV_EXIT_WITH_PARENT: '1' },
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.#procs.set(id, child);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, sig) =>
        reject(
          new Error(
            `node ${id} exited (${code ?? sig}) while starting; see ${join(this.dir, `node-${id}.log`)}`,
          ),
        ),
      ),
    );
    exited.catch(() => {});
    const client = new KvClient([addr], { requestTimeoutMs: 1000 });
    const deadline = Date.now() + this.#startTimeoutMs;
    for (;;) {
      const ok = await Promise.race([
        client.call(addr, '/health').then(
          () => true,
          () => false,
        ),
        exited,
      ]);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`node ${id} did not answer /health in time`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Initializes the cluster with every started node as a voter, through node `via` (default 1). */
  async initialize(via = 1): Promise<void> {
    const members = [...this.addrs].filter(([id]) => this.isRunning(id));
    const r = await this.client().call(this.addr(via), '/init', members);
    const body = r.body as { Ok?: unknown };
    if (r.status !== 200 || !('Ok' in body)) throw new Error(`init failed: ${JSON.stringify(r.body)}`);
  }

  /** Sends `signal` to node `id` and waits for it to exit. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.#procs.get(id);
    if (p === undefined || !this.isRunning(id)) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await gone;
  }

  /** Stops every node (SIGTERM, then SIGKILL after 5 s) and closes the logs. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.#procs.keys()].map(async (id) => {
        const t = setTimeout(() => this.#procs.get(id)?.kill('SIGKILL'), 5000);
        await this.kill(id, 'SIGTERM');
        clearTimeout(t);
      }),
    );
    for (const l of this.#logs.values()) l.end();
    this.#logs.clear();
  }
}
