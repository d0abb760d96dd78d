/**
 * Server clusters on loopback for the HTTP benchmarks, each node its own process: flotilla-kv (its
 * built entry `dist/main.js`, what a deployment runs, built first through turbo; durable file store,
 * event-loop delay read from the node's own `/metrics/event-loop`) and etcd
 * (Debian's `etcd-server`, installed with apt-get when missing, default settings), and the closed-loop
 * HTTP/JSON load generator both are driven by.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { BIN_PATH, BUILT_BIN_PATH, freePort } from 'flotilla-kv';
import { REPO_ROOT } from '../runner.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A JSON answer. */
export interface JsonReply {
  status: number;
  body: unknown;
}

/** POSTs `body` as JSON over a keep-alive `agent`; resolves with the parsed answer. */
export function postJson(agent: http.Agent, addr: string, path: string, body: unknown): Promise<JsonReply> {
  const [host, port] = addr.split(':');
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port: Number(port),
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: text.length === 0 ? null : JSON.parse(text) });
          } catch (e) {
            reject(e);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A server cluster the load generator can drive. */
export interface HttpCluster {
  /** `kv` or `etcd`. */
  readonly kind: 'kv' | 'etcd';
  /** The server processes' pids. */
  readonly pids: readonly number[];
  /** Whether every server process is still running. */
  alive(): boolean;
  /** Writes `value` (a string of the entry size) at `key` through the leader; throws unless it succeeded. */
  write(agent: http.Agent, key: string, value: string): Promise<void>;
  /** A linearizable read of `key` through the leader; throws unless it succeeded. */
  read(agent: http.Agent, key: string): Promise<void>;
  /** Stops every server. */
  stop(): Promise<void>;
}

async function waitUntil(
  what: string,
  ms: number,
  probe: () => Promise<boolean>,
  procs: readonly ChildProcess[] = [],
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (!procs.every(running)) throw new ServerExitedError(`${what}: a server exited while starting`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${ms} ms`);
    await sleep(100);
  }
}

const running = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

/** Thrown when a server exits while its cluster starts (e.g. its port was taken meanwhile): retry. */
class ServerExitedError extends Error {}

/** Starts a cluster with `start`, retrying (up to 3 times) when a server exits during start-up. */
async function withRetry<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (!(e instanceof ServerExitedError) || attempt >= 3) throw e;
    }
  }
}

/**
 * Kills the servers (their data is scratch: no graceful shutdown to wait for) and waits for them.
 * With `'SIGTERM'` they stop gracefully (so a `--cpu-prof` profile gets written), killed after 10 s.
 */
async function stopProcs(
  procs: readonly ChildProcess[],
  signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL',
): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      if (!running(p)) return;
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill(signal);
      const t = signal === 'SIGKILL' ? undefined : setTimeout(() => p.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    }),
  );
}

function tail(p: ChildProcess): () => string {
  let text = '';
  const keep = (b: Buffer) => {
    text = (text + b.toString()).slice(-3000);
  };
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  return () => text;
}

// ------------------------------------------------------------------ flotilla-kv

const MEM_PRELOAD = join(import.meta.dirname, 'procs', 'mem-preload.mjs');

/**
 * Extra node flags for every kv process, from `FLOTILLA_BENCH_KV_NODE_FLAGS` (space-separated),
 * e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the nodes under load (they then stop with
 * SIGTERM so the profiles get written).
 */
const ENV_NODE_FLAGS: readonly string[] = (process.env.FLOTILLA_BENCH_KV_NODE_FLAGS ?? '')
  .split(' ')
  .filter((f) => f !== '');

/**
 * `FLOTILLA_BENCH_KV_FROM_SOURCE=1` runs the kv nodes from their TypeScript sources (tsx) instead;
 * `FLOTILLA_BENCH_KV_ENTRY=<path>` runs them from that entry (e.g. an older build, for an A/B run).
 */
const FROM_SOURCE = process.env.FLOTILLA_BENCH_KV_FROM_SOURCE === '1';

let built: string | null = null;

/**
 * The entry the kv nodes run from: `apps/kv/dist/main.js`, after `turbo run build` of flotilla-kv
 * and the packages it depends on (a cache hit when nothing changed), so a benchmark never measures
 * a stale build; or the source entry with `FLOTILLA_BENCH_KV_FROM_SOURCE=1`.
 */
export function kvEntry(): string {
  if (FROM_SOURCE) return BIN_PATH;
  const override = process.env.FLOTILLA_BENCH_KV_ENTRY;
  if (override !== undefined && override !== '') return override;
  if (built === null) {
    execFileSync(
      'pnpm',
      ['exec', 'turbo', 'run', 'build', '--filter=flotilla-kv...', '--output-logs=errors-only'],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 300_000,
      },
    );
    if (!existsSync(BUILT_BIN_PATH)) throw new Error(`the kv build did not produce ${BUILT_BIN_PATH}`);
    built = BUILT_BIN_PATH;
  }
  return built;
}

/** How the kv nodes run, for the benchmarks' parameters. */
export function kvEntryLabel(): string {
  return FROM_SOURCE ? 'apps/kv bin/flotilla-kv (tsx, from source)' : 'apps/kv dist/main.js (built JS)';
}

/** Event-loop delay of a kv node over a window, in ms (from the preloaded monitor). */
export interface LoopDelay {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** A flotilla-kv cluster: `voters` processes, initialized, leader found. */
export class KvHttpCluster implements HttpCluster {
  readonly kind = 'kv' as const;
  readonly procs: ChildProcess[];
  readonly addrs: string[];
  readonly dir: string;
  leader = '';
  leaderIndex = 0;

  private constructor(procs: ChildProcess[], addrs: string[], dir: string) {
    this.procs = procs;
    this.addrs = addrs;
    this.dir = dir;
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid ?? -1);
  }

  alive(): boolean {
    return this.procs.every(running);
  }

  /** Starts `voters` nodes in `dir/kv-<i>`; extra args go to every node (e.g. `--snapshot-every`). */
  static start(
    voters: number,
    dir: string,
    nodeArgs: readonly string[] = [],
    nodeFlags: readonly string[] = [],
  ): Promise<KvHttpCluster> {
    let attempt = 0;
    return withRetry(() =>
      KvHttpCluster.#startOnce(voters, join(dir, `try-${++attempt}`), nodeArgs, nodeFlags),
    );
  }

  static async #startOnce(
    voters: number,
    dir: string,
    nodeArgs: readonly string[],
    nodeFlags: readonly string[],
  ): Promise<KvHttpCluster> {
    const entry = kvEntry();
    const addrs: string[] = [];
    for (let i = 0; i < voters; i++) addrs.push(`127.0.0.1:${await freePort()}`);
    const procs: ChildProcess[] = [];
    const c = new KvHttpCluster(procs, addrs, dir);
    try {
      for (let i = 0; i < voters; i++) {
        const d = join(dir, `kv-${i + 1}`);
        await mkdir(d, { recursive: true });
        const p = spawn(
          process.execPath,
          [
            ...nodeFlags,
            ...ENV_NODE_FLAGS,
            '--import',
            MEM_PRELOAD,
            entry,
            '--id',
            String(i + 1),
            '--http-addr',
            addrs[i] as string,
            '--dir',
            d,
            '--log-level',
            'warn',
            ...nodeArgs,
          ],
          // The IPC channel drives the preloaded event-loop delay monitor.
          {
            stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
            env: { ...process.env, FLOTILLA_KV_EXIT_WITH_PARENT: '1' },
          },
        );
        const log = tail(p);
        p.once('exit', (code, sig) => {
          if (code !== 0 && sig !== 'SIGTERM' && sig !== 'SIGKILL')
            process.stderr.write(`kv ${i + 1} exited: ${log()}\n`);
        });
        procs.push(p);
      }
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      for (const a of addrs) {
        await waitUntil(
          `kv ${a}`,
          60_000,
          async () => {
            const r = await getJson(agent, a, '/health');
            return r.status === 200;
          },
          procs,
        );
      }
      const members = addrs.map((a, i) => [i + 1, a]);
      const init = await postJson(agent, addrs[0] as string, '/init', members);
      if (init.status !== 200) throw new Error(`kv init failed: ${JSON.stringify(init.body)}`);
      await waitUntil(
        'kv leader',
        30_000,
        async () => {
          const r = await getJson(agent, addrs[0] as string, '/metrics');
          const m = (r.body as { Ok?: { current_leader?: number | null; state?: string } }).Ok;
          const leader = m?.current_leader;
          if (leader === null || leader === undefined) return false;
          c.leaderIndex = leader - 1;
          c.leader = addrs[leader - 1] as string;
          const w = await postJson(agent, c.leader, '/write', { Set: { key: 'warm', value: 'up' } });
          return w.status === 200 && typeof w.body === 'object' && w.body !== null && 'Ok' in w.body;
        },
        procs,
      );
      agent.destroy();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  async write(agent: http.Agent, key: string, value: string): Promise<void> {
    const r = await postJson(agent, this.leader, '/write', { Set: { key, value } });
    if (r.status !== 200 || !(typeof r.body === 'object' && r.body !== null && 'Ok' in r.body)) {
      throw new Error(`kv write failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
  }

  async read(agent: http.Agent, key: string): Promise<void> {
    const r = await postJson(agent, this.leader, '/linearizable_read', key);
    if (r.status !== 200 || !(typeof r.body === 'object' && r.body !== null && 'Ok' in r.body)) {
      throw new Error(`kv read failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
  }

  #dumpId = 0;

  readonly #metricsAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  /**
   * Starts a new event-loop delay window on node `index` (0-based): the node's own metric,
   * `POST /metrics/event-loop/reset`. Resolves once it has (errors are ignored: the figure is then
   * missing, not wrong).
   */
  async resetLoopDelay(index: number): Promise<void> {
    const addr = this.addrs[index];
    if (addr === undefined) return;
    await postJson(this.#metricsAgent, addr, '/metrics/event-loop/reset', null).catch(() => undefined);
  }

  /**
   * The event-loop delay of node `index` since its last reset, from its `GET /metrics/event-loop`;
   * `null` if it does not answer.
   */
  async dumpLoopDelay(index: number): Promise<LoopDelay | null> {
    const addr = this.addrs[index];
    if (addr === undefined) return null;
    const r = await getJson(this.#metricsAgent, addr, '/metrics/event-loop').catch(() => null);
    const m = (r?.body as { Ok?: Record<string, number> } | undefined)?.Ok;
    if (m === undefined) return null;
    return {
      count: m.count ?? 0,
      p50: m.p50_ms ?? 0,
      p99: m.p99_ms ?? 0,
      max: m.max_ms ?? 0,
      mean: m.mean_ms ?? 0,
    };
  }

  /**
   * Node `index`'s `process.memoryUsage()` after a full garbage collection (when started with
   * `--expose-gc`; `gc` says whether it ran); `null` if it cannot answer in 5 s.
   */
  memoryUsage(index: number): Promise<(NodeJS.MemoryUsage & { gc: boolean }) | null> {
    return this.#ask(index, 'mem');
  }

  #ask<T>(index: number, eld: string): Promise<T | null> {
    const p = this.procs[index];
    if (p === undefined || !running(p) || !p.connected) return Promise.resolve(null);
    const id = ++this.#dumpId;
    return new Promise((resolve) => {
      const onMessage = (m: { eld?: string; id?: number } & T) => {
        if (m?.eld !== eld || m.id !== id) return;
        clearTimeout(t);
        p.off('message', onMessage);
        resolve(m);
      };
      const t = setTimeout(() => {
        p.off('message', onMessage);
        resolve(null);
      }, 5000);
      p.on('message', onMessage);
      p.send({ eld, id });
    });
  }

  async stop(): Promise<void> {
    this.#metricsAgent.destroy();
    await stopProcs(this.procs, ENV_NODE_FLAGS.length > 0 ? 'SIGTERM' : 'SIGKILL');
  }
}

function getJson(agent: http.Agent, addr: string, path: string): Promise<JsonReply> {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), path, method: 'GET', agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (e) {
          reject(e);
        }
      });
    });
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

// ------------------------------------------------------------------ etcd

/** The etcd binary, installing Debian's `etcd-server` when it is missing; `null` when impossible. */
export function ensureEtcd(): string | null {
  const find = (): string | null => {
    for (const p of ['/usr/bin/etcd', '/usr/local/bin/etcd']) if (existsSync(p)) return p;
    return null;
  };
  const have = find();
  if (have !== null) return have;
  try {
    execFileSync('apt-get', ['install', '-y', 'etcd-server'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 180_000,
    });
  } catch {
    return null;
  }
  return find();
}

/** The etcd version string (`etcd --version`'s first line). */
export function etcdVersion(bin: string): string {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** An etcd cluster of `members` processes, default settings, client JSON gateway on loopback. */
export class EtcdCluster implements HttpCluster {
  readonly kind = 'etcd' as const;
  readonly procs: ChildProcess[];
  readonly clientAddrs: string[];
  leader = '';

  private constructor(procs: ChildProcess[], clientAddrs: string[]) {
    this.procs = procs;
    this.clientAddrs = clientAddrs;
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid ?? -1);
  }

  alive(): boolean {
    return this.procs.every(running);
  }

  /** Starts `members` members in `dir/etcd-<i>` and waits for a leader. */
  static start(bin: string, members: number, dir: string): Promise<EtcdCluster> {
    let attempt = 0;
    return withRetry(() => EtcdCluster.#startOnce(bin, members, join(dir, `try-${++attempt}`)));
  }

  static async #startOnce(bin: string, members: number, dir: string): Promise<EtcdCluster> {
    const client: string[] = [];
    const peer: string[] = [];
    for (let i = 0; i < members; i++) {
      client.push(`127.0.0.1:${await freePort()}`);
      peer.push(`127.0.0.1:${await freePort()}`);
    }
    const initial = peer.map((p, i) => `e${i + 1}=http://${p}`).join(',');
    const procs: ChildProcess[] = [];
    const c = new EtcdCluster(procs, client);
    try {
      for (let i = 0; i < members; i++) {
        const d = join(dir, `etcd-${i + 1}`);
        await mkdir(d, { recursive: true });
        const p = spawn(
          bin,
          [
            '--name',
            `e${i + 1}`,
            '--data-dir',
            d,
            '--listen-client-urls',
            `http://${client[i]}`,
            '--advertise-client-urls',
            `http://${client[i]}`,
            '--listen-peer-urls',
            `http://${peer[i]}`,
            '--initial-advertise-peer-urls',
            `http://${peer[i]}`,
            '--initial-cluster',
            initial,
            '--initial-cluster-token',
            `bench-${process.pid}-${members}`,
            '--initial-cluster-state',
            'new',
            '--logger',
            'zap',
            '--log-level',
            'error',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        tail(p);
        procs.push(p);
      }
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      await waitUntil(
        'etcd leader',
        60_000,
        async () => {
          const s = await postJson(agent, client[0] as string, '/v3/maintenance/status', {});
          const leader = (s.body as { leader?: string }).leader;
          if (leader === undefined || leader === '0') return false;
          for (const a of client) {
            const m = await postJson(agent, a, '/v3/maintenance/status', {});
            if ((m.body as { header?: { member_id?: string } }).header?.member_id === leader) {
              c.leader = a;
              break;
            }
          }
          if (c.leader === '') return false;
          await c.write(agent, 'warm', 'up');
          return true;
        },
        procs,
      );
      agent.destroy();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  async write(agent: http.Agent, key: string, value: string): Promise<void> {
    const r = await postJson(agent, this.leader, '/v3/kv/put', { key: b64(key), value: b64(value) });
    if (r.status !== 200)
      throw new Error(`etcd put failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }

  async read(agent: http.Agent, key: string): Promise<void> {
    // serializable: false (the default) is etcd's linearizable read (ReadIndex).
    const r = await postJson(agent, this.leader, '/v3/kv/range', { key: b64(key) });
    if (r.status !== 200)
      throw new Error(`etcd range failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }

  async stop(): Promise<void> {
    await stopProcs(this.procs);
  }
}

// ------------------------------------------------------------------ load

/** What one closed-loop run did. */
export interface LoadRun {
  ops: number;
  seconds: number;
  latenciesMs: number[];
}

/** A keep-alive agent with a connection per client (reuse it across repetitions; destroy it after). */
export function loadAgent(clients: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
}

/**
 * `clients` closed loops over `agent`, `total` operations in all, each a write of a `valueBytes` value
 * or a linearizable read, over `keys` keys.
 */
export async function closedLoopHttp(
  cluster: HttpCluster,
  agent: http.Agent,
  op: 'write' | 'read',
  clients: number,
  total: number,
  valueBytes: number,
  keys = 1000,
): Promise<LoadRun> {
  const value = 'v'.repeat(valueBytes);
  const lat: number[] = [];
  let seq = 0;
  const t0 = performance.now();
  {
    const base = Math.floor(total / clients);
    const extra = total % clients;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const n = base + (c < extra ? 1 : 0);
        for (let i = 0; i < n; i++) {
          const key = `k${seq++ % keys}`;
          const s = performance.now();
          if (op === 'write') await cluster.write(agent, key, value);
          else await cluster.read(agent, key);
          lat.push(performance.now() - s);
        }
      }),
    );
  }
  return { ops: total, seconds: (performance.now() - t0) / 1000, latenciesMs: lat };
}

/**
 * Drives `cluster` with 64 writing clients for about `ms` (unmeasured): the servers' JIT and caches
 * warm up before any figure is taken (a kv node starts from TypeScript sources). No-op for `ms` ≤ 0.
 */
export async function warmUp(cluster: HttpCluster, ms: number): Promise<void> {
  if (ms <= 0) return;
  const agent = loadAgent(64);
  try {
    const until = performance.now() + ms;
    while (performance.now() < until) await closedLoopHttp(cluster, agent, 'write', 64, 256, 100);
  } finally {
    agent.destroy();
  }
}
