// Drives the nodes of `fixtures/tcp-node.mjs` (one child process each) from a test: start, stop,
// find the leader, write through it, read linearizably. Every wait is bounded.
import { type ChildProcess, fork } from 'node:child_process';

/** A reply of a node that failed. */
export class NodeCallError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'NodeCallError';
    this.code = code;
  }
}

/** What a node reports of itself. */
export interface NodeStatus {
  state: string;
  currentLeader: string | null;
  lastApplied: number;
  term: number;
}

/** One node process. */
export class ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly dataDir: string;
  readonly projectDir: string;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #seq = 0;
  #exited: Promise<number | null>;
  #log = '';

  private constructor(child: ChildProcess, id: string, port: number, dataDir: string, projectDir: string) {
    this.#child = child;
    this.id = id;
    this.port = port;
    this.dataDir = dataDir;
    this.projectDir = projectDir;
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdout?.on('data', (d: Buffer) => {
      this.#log += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.#log += d.toString();
    });
    child.on(
      'message',
      (m: { seq?: number; ok?: boolean; value?: unknown; code?: string; message?: string }) => {
        if (m.seq === undefined) return;
        const p = this.#pending.get(m.seq);
        this.#pending.delete(m.seq);
        if (m.ok) p?.resolve(m.value);
        else p?.reject(new NodeCallError(m.code ?? 'ERROR', `${this.id}: ${m.message}`));
      },
    );
    void this.#exited.then((code) => {
      for (const p of this.#pending.values())
        p.reject(new NodeCallError('EXITED', `${this.id} exited (${code}): ${this.#log}`));
      this.#pending.clear();
    });
  }

  /** Starts `script` (in `projectDir`) as node `id` on `port` with its log in `dataDir`. */
  static start(
    projectDir: string,
    script: string,
    id: string,
    port: number,
    dataDir: string,
  ): Promise<ClusterNode> {
    const child = fork(script, [id, String(port), dataDir], {
      cwd: projectDir,
      // a plain Node process, as a user runs it: none of the test runner's flags or conditions
      execArgv: [],
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const node = new ClusterNode(child, id, port, dataDir, projectDir);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${id} did not start within 20 s: ${node.#log}`)),
        20_000,
      );
      child.on('message', (m: { ready?: boolean }) => {
        if (m.ready) {
          clearTimeout(timer);
          resolve(node);
        }
      });
      void node.#exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${id} exited (${code}) while starting: ${node.#log}`));
      });
    });
  }

  /** Sends `op` and resolves with the node's answer. */
  call<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new NodeCallError('TIMEOUT', `${this.id}: ${op} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(seq, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#child.send({ seq, op, ...args });
    });
  }

  /** Shuts the node down cleanly and waits for its process to exit (killed after 15 s). */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    await this.call('stop').catch(() => {});
    await this.#exited;
    clearTimeout(timer);
  }

  /** Kills the process at once (used only in cleanup after a failure). */
  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The node every given node agrees is leader, and which says it is; waits up to `timeoutMs`. */
export async function findLeader(nodes: readonly ClusterNode[], timeoutMs = 20_000): Promise<ClusterNode> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const n of nodes) {
      const m = await n.call<NodeStatus>('metrics').catch(() => null);
      if (m?.state === 'Leader') return n;
    }
    if (Date.now() > deadline) throw new Error(`no leader among ${nodes.map((n) => n.id).join(', ')}`);
    await sleep(100);
  }
}

/** Writes `key = value` through the current leader, retrying while leadership moves; returns its log index. */
export async function writeKey(
  nodes: readonly ClusterNode[],
  key: string,
  value: unknown,
  timeoutMs = 20_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = await findLeader(nodes, Math.max(1, deadline - Date.now()));
    try {
      return await leader.call<number>('write', { key, value });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}
