import http from 'node:http';
import type { KvRequest } from './kv-state.ts';
import { isPlainObject } from './kv-state.ts';

// One keep-alive pool for every client of this process: `fetch` (undici) costs about twice the CPU
// per request, which on a small machine is taken from the nodes a benchmark measures. Idle pooled
// sockets are unref'd by the agent, so they never keep the process alive.
const agent = new http.Agent({ keepAlive: true });

/** POSTs `body` as JSON (or GETs without one) to `http://addr/path`; resolves with status and text. */
function request(
  addr: string,
  path: string,
  body: unknown,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(`http://${addr}${path}`);
    const req = http.request(
      url,
      {
        method: payload === undefined ? 'GET' : 'POST',
        agent,
        signal,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A reply of a flotilla-kv node: the HTTP status and the parsed JSON body. */
export interface KvReply {
  /** HTTP status. */
  status: number;
  /** Parsed body (`{"Ok":…}` or `{"Err":…}`). */
  body: unknown;
}

/** A write acknowledged by the cluster. */
export interface AckedWrite {
  /** Where it landed. */
  logId: { term: number; index: number };
  /** The state machine's answer. */
  data: { value: string | null; applied: boolean };
  /** Which node answered. */
  addr: string;
}

/** Options of {@link KvClient}. */
export interface KvClientOptions {
  /** Per-request timeout in ms (default 10 000). */
  requestTimeoutMs?: number;
}

/**
 * A small HTTP client for a flotilla-kv cluster (also usable with openraft's example servers): it
 * remembers the leader, follows `ForwardToLeader` replies and retries writes through elections.
 */
export class KvClient {
  /** Known node addresses (`host:port`). */
  readonly addrs: string[];
  #leader: string | undefined;
  readonly #timeoutMs: number;

  constructor(addrs: readonly string[], opts: KvClientOptions = {}) {
    if (addrs.length === 0) throw new RangeError('KvClient needs at least one address');
    this.addrs = [...addrs];
    this.#timeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /** The leader address last seen, if any. */
  get leader(): string | undefined {
    return this.#leader;
  }

  /** One request to one node. Rejects on network failure or timeout. */
  async call(addr: string, path: string, body?: unknown, signal?: AbortSignal): Promise<KvReply> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const text = await request(
      addr,
      path,
      body,
      signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    );
    let parsed: unknown = text.body;
    try {
      parsed = JSON.parse(text.body);
    } catch {
      // keep the text
    }
    return { status: text.status, body: parsed };
  }

  /**
   * Writes through the leader, following `ForwardToLeader` and retrying on failures until
   * `deadlineMs` (default 30 s) passes. A retry after a lost connection may apply the write twice:
   * use idempotent writes (or `Cas`) when that matters. `onRetry` hears about every failed attempt.
   */
  async write(
    req: KvRequest,
    opts: { deadlineMs?: number; onRetry?: (why: string) => void; signal?: AbortSignal } = {},
  ): Promise<AckedWrite> {
    const deadline = Date.now() + (opts.deadlineMs ?? 30_000);
    let attempt = 0;
    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const addr = this.#leader ?? this.addrs[attempt % this.addrs.length] ?? (this.addrs[0] as string);
      let why: string;
      try {
        const r = await this.call(addr, '/write', req, opts.signal);
        const b = r.body;
        if (isPlainObject(b) && isPlainObject(b.Ok)) {
          this.#leader = addr;
          return { ...(b.Ok as unknown as Omit<AckedWrite, 'addr'>), addr };
        }
        const fwd = forwardTarget(b);
        if (fwd !== undefined) {
          this.#leader = fwd ?? undefined;
          why = `forward to ${fwd ?? 'unknown leader'}`;
        } else {
          this.#leader = undefined;
          why = `${addr} answered ${r.status} ${JSON.stringify(b)}`;
        }
      } catch (e) {
        this.#leader = undefined;
        why = `${addr}: ${e instanceof Error ? e.message : String(e)}`;
      }
      attempt++;
      opts.onRetry?.(why);
      if (Date.now() > deadline) throw new Error(`write failed until the deadline; last: ${why}`);
      await new Promise((r) => setTimeout(r, Math.min(50 * attempt, 300)));
    }
  }

  /** A local read on `addr` (`POST /read`); resolves with the value (`""` when absent). */
  async read(addr: string, key: string): Promise<string> {
    const r = await this.call(addr, '/read', key);
    if (isPlainObject(r.body) && typeof r.body.Ok === 'string') return r.body.Ok;
    throw new Error(`read on ${addr} failed: ${r.status} ${JSON.stringify(r.body)}`);
  }

  /** `/metrics` of `addr` (the `Ok` part), or rejects. */
  async metrics(addr: string): Promise<Record<string, unknown>> {
    const r = await this.call(addr, '/metrics');
    if (isPlainObject(r.body) && isPlainObject(r.body.Ok)) return r.body.Ok;
    throw new Error(`metrics of ${addr} failed: ${r.status}`);
  }

  /**
   * Waits until some node of `addrs` (default: all) reports itself leader; resolves with its id and
   * address. Polls every 100 ms; rejects after `timeoutMs`.
   */
  async waitForLeader(
    timeoutMs: number,
    addrs: readonly string[] = this.addrs,
    exclude?: number,
  ): Promise<{ id: number; addr: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const addr of addrs) {
        try {
          const m = await this.metrics(addr);
          if (m.state === 'Leader' && typeof m.id === 'number' && m.id !== exclude) {
            this.#leader = addr;
            return { id: m.id, addr };
          }
        } catch {
          // down or starting: try the next one
        }
      }
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * The leader address a `ForwardToLeader` reply names: a string, `null` when the node knows no
 * leader, or `undefined` when `body` is not such a reply.
 */
export function forwardTarget(body: unknown): string | null | undefined {
  if (!isPlainObject(body) || !isPlainObject(body.Err)) return undefined;
  const api = body.Err.APIError;
  if (!isPlainObject(api) || !isPlainObject(api.ForwardToLeader)) return undefined;
  const node = api.ForwardToLeader.leader_node;
  return isPlainObject(node) && typeof node.addr === 'string' ? node.addr : null;
}
