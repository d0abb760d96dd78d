import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, type RaftApi, type ReadPolicy, silentLogger } from '@flotilla/raft';
import {
  type ChangeMembershipError,
  ErrorCode,
  hasErrorCode,
  InvalidRequestError,
  type Node,
  type NodeId,
} from '@flotilla/types';
import { parseHostPort } from './addr.ts';
import { applyChangeMembers, parseChangeMembers } from './change-members.ts';
import { dashboardHtml } from './dashboard.ts';
import { fromWireId, toWireId } from './ids.ts';
import {
  isPlainObject,
  type KvRequest,
  type KvResponse,
  type KvSession,
  type KvSessionError,
  parseKvRequest,
  parseKvSession,
} from './kv-state.ts';
import type { LoopDelayMonitor, LoopDelaySnapshot } from './loop-delay.ts';
import {
  compareIds,
  err,
  type Json,
  metricsJson,
  ok,
  raftErrorJson,
  writeResponseJson,
} from './openraft-json.ts';
import { type KvCounters, newCounters, prometheusText } from './prometheus.ts';

/** What the HTTP layer reads from the local state machine. */
export interface KvReader {
  /** The local value of `key`. */
  get(key: string): string | undefined;
  /** Number of keys. */
  readonly size: number;
}

/** Options of {@link kvHttpHandler}. */
export interface KvHttpOptions {
  /** The local Raft node. */
  raft: RaftApi<KvRequest, KvResponse>;
  /** The local state machine, for reads. */
  store: KvReader;
  /** This node's address (`host:port`), used by `POST /init` without a member list. */
  addr: string;
  /** How `/linearizable_read` confirms leadership (default `readIndex`). */
  readPolicy?: ReadPolicy;
  /** Largest request body accepted, in bytes (default 1 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** How long `/cluster/metrics` waits for each peer, in ms (default 1000). */
  peerTimeoutMs?: number;
  /** How long a blocking `/add-learner` waits for the learner to catch up, in ms (default 60 000). */
  addLearnerTimeoutMs?: number;
  /**
   * This process's event-loop delay monitor, served by `GET /metrics/event-loop` (reset by
   * `POST /metrics/event-loop/reset`) and `/metrics/prometheus`; without it those routes answer 404.
   */
  loopDelay?: LoopDelayMonitor;
  /**
   * The credential of the admin routes (`/init`, `/add-learner`, `/change-membership`): when set, a
   * request to one of them must carry `Authorization: Bearer <adminToken>` (compared in constant time)
   * or is answered 401 before its body is read; reads, writes, metrics and the dashboard are not
   * affected. Unset: the admin routes are open to anyone who reaches the port.
   */
  adminToken?: string;
  /** Fetches a peer's JSON (default: `fetch`). Injected by tests. */
  fetchJson?: (url: string, timeoutMs: number) => Promise<unknown>;
  /** Where failures are reported. */
  logger?: Logger;
}

/** An HTTP request handler with the counters it keeps. */
export interface KvHttpHandler {
  /** Serves one request; never throws, never rejects. */
  (req: IncomingMessage, res: ServerResponse): void;
  /** Counters for `/metrics/prometheus`. */
  readonly counters: KvCounters;
}

/** Default body limit: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A request failure with an HTTP status and a JSON body, answered as `{"Err": body}`. */
class HttpError extends Error {
  readonly status: number;
  readonly body: Json;
  readonly headers: Record<string, string>;
  constructor(status: number, body: Json, headers: Record<string, string> = {}) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

function invalid(status: number, kind: string, message: string, path = '$'): HttpError {
  return new HttpError(status, { [kind]: { path, message } });
}

interface Route {
  method: 'GET' | 'POST';
  run: (body: unknown) => Promise<Reply>;
  /** Whether the route reads a JSON body. */
  body: boolean;
  /** Whether the route changes the cluster (guarded by `adminToken`). */
  admin?: true;
}

/** Whether `header` is `Bearer <token>`, compared in constant time (digests: no length leak). */
function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(header.slice('Bearer '.length)), digest(token));
}

type Reply =
  | { kind: 'json'; status: number; body: Json }
  | { kind: 'text'; status: number; type: string; text: string };

function json(body: Json, status = 200): Reply {
  return { kind: 'json', status, body };
}

/**
 * The HTTP API of a flotilla-kv node, compatible with openraft's `raft-kv-memstore` example: every
 * reply is `{"Ok": …}` or `{"Err": …}`, node ids are numbers, `/metrics` uses openraft's field
 * names. Bad input (malformed JSON, wrong types, unknown routes, bodies over the limit) is answered
 * with a 4xx and `{"Err":{"<Kind>":{"path","message"}}}`; Raft outcomes such as `ForwardToLeader`
 * are answered with 200 and `{"Err":{"APIError":…}}`, as the example does; a stopped node answers
 * 503 with `{"Err":{"Fatal":…}}`.
 */
export function kvHttpHandler(opts: KvHttpOptions): KvHttpHandler {
  const { raft, store } = opts;
  const log = opts.logger ?? silentLogger;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const peerTimeoutMs = opts.peerTimeoutMs ?? 1000;
  const fetchJson = opts.fetchJson ?? defaultFetchJson;
  const counters = newCounters();

  const raftCall = async (f: () => Promise<Json>): Promise<Reply> => {
    try {
      return json(ok(await f()));
    } catch (e) {
      if (e instanceof SessionRefused) {
        const { client_id, sequence } = e.session;
        return json(err({ APIError: { [e.reason]: { client_id, sequence, message: e.message } } }));
      }
      const { body, fatal } = raftErrorJson(e);
      if (fatal) log.warn('request failed: node stopped', { error: String(e) });
      return json(err(body), fatal ? 503 : 200);
    }
  };

  const needLoopDelay = (): LoopDelayMonitor => {
    if (opts.loopDelay === undefined) throw invalid(404, 'NotFound', 'no event-loop delay monitor');
    return opts.loopDelay;
  };

  const readKey = (body: unknown): string => {
    if (typeof body !== 'string') throw invalid(400, 'InvalidRequest', 'expected a JSON string: the key');
    return body;
  };

  const routes: Record<string, Route> = {
    '/': {
      method: 'GET',
      body: false,
      run: async () => ({
        kind: 'text',
        status: 200,
        type: 'text/html; charset=utf-8',
        text: dashboardHtml(),
      }),
    },
    '/health': {
      method: 'GET',
      body: false,
      run: async () => {
        const m = raft.metrics.current;
        const healthy = m.error === null && m.state !== 'Shutdown';
        const body = {
          status: healthy ? 'ok' : 'stopped',
          id: toWireId(m.id),
          state: m.state,
          current_leader: m.currentLeader === null ? null : toWireId(m.currentLeader),
        };
        return json(healthy ? ok(body) : err(body), healthy ? 200 : 503);
      },
    },
    '/metrics': { method: 'GET', body: false, run: async () => json(ok(metricsJson(raft.metrics.current))) },
    '/metrics/prometheus': {
      method: 'GET',
      body: false,
      run: async () => ({
        kind: 'text',
        status: 200,
        type: 'text/plain; version=0.0.4; charset=utf-8',
        text: prometheusText(raft.metrics.current, counters, store.size, opts.loopDelay?.snapshot()),
      }),
    },
    '/metrics/event-loop': {
      method: 'GET',
      body: false,
      run: async () => json(ok(loopDelayJson(needLoopDelay().snapshot()))),
    },
    '/metrics/event-loop/reset': {
      method: 'POST',
      body: false,
      run: async () => {
        needLoopDelay().reset();
        return json(ok(null));
      },
    },
    '/cluster/metrics': {
      method: 'GET',
      body: false,
      run: async () => json(ok(await clusterMetrics(raft, fetchJson, peerTimeoutMs))),
    },
    '/init': {
      method: 'POST',
      body: true,
      admin: true,
      run: async (body) => {
        const nodes = parseInitBody(body, raft.id, opts.addr);
        return raftCall(async () => {
          await raft.initialize(nodes);
          return null;
        });
      },
    },
    '/add-learner': {
      method: 'POST',
      body: true,
      admin: true,
      run: async (body) => {
        if (!Array.isArray(body) || body.length !== 2) {
          throw invalid(400, 'InvalidRequest', 'expected [node_id, "host:port"]');
        }
        const id = fromWireId(body[0], '$[0]');
        const node: Node = { addr: wireAddr(body[1], '$[1]') };
        return raftCall(async () => {
          const timeoutMs = opts.addLearnerTimeoutMs ?? 60_000;
          const res = await whenNotInProgress(() => raft.addLearner(id, node, { blocking: true, timeoutMs }));
          // Answer once the change is also committed (applied here), as openraft's example does in
          // effect: a /change-membership or /add-learner right after it must not find it in progress.
          await raft.wait({ timeoutMs }).appliedIndex(res.logId.index, 'the learner change to be applied');
          return writeResponseJson(res, null, raft.metrics.current.membership.membership);
        });
      },
    },
    '/change-membership': {
      method: 'POST',
      body: true,
      admin: true,
      run: async (body) => {
        if (isPlainObject(body)) {
          const changes = parseChangeMembers(body);
          return raftCall(async () => {
            const res = await whenNotInProgress(() => applyChangeMembers(raft, changes));
            return writeResponseJson(res, null, raft.metrics.current.membership.membership);
          });
        }
        if (!Array.isArray(body)) {
          throw invalid(
            400,
            'InvalidRequest',
            'expected an array of voter ids or an openraft ChangeMembers object such as {"AddVoterIds":[4]}',
          );
        }
        const ids = body.map((v, i) => fromWireId(v, `$[${i}]`));
        return raftCall(async () => {
          const res = await whenNotInProgress(() => raft.changeMembership(ids, { retain: false }));
          return writeResponseJson(res, null, raft.metrics.current.membership.membership);
        });
      },
    },
    '/write': {
      method: 'POST',
      body: true,
      run: async (body) => {
        const req = parseWriteBody(body);
        const reply = await raftCall(async () => {
          const res = await raft.clientWrite(req);
          const refused = res.response.sessionError;
          if (refused !== undefined && req.session !== undefined)
            throw new SessionRefused(refused, req.session);
          return writeResponseJson(res, { value: res.response.value, applied: res.response.applied });
        });
        if (reply.kind === 'json' && isPlainObject(reply.body) && 'Ok' in reply.body) counters.writesOk++;
        else counters.writesFailed++;
        return reply;
      },
    },
    '/read': {
      method: 'POST',
      body: true,
      run: async (body) => {
        const key = readKey(body);
        counters.reads++;
        return json(ok(store.get(key) ?? ''));
      },
    },
    '/linearizable_read': { method: 'POST', body: true, run: async (body) => linearizableRead(body) },
    '/consistent_read': { method: 'POST', body: true, run: async (body) => linearizableRead(body) },
  };

  async function linearizableRead(body: unknown): Promise<Reply> {
    const key = readKey(body);
    return raftCall(async () => {
      await raft.ensureLinearizable({ policy: opts.readPolicy ?? 'readIndex' });
      counters.reads++;
      return store.get(key) ?? '';
    });
  }

  /** The `/metrics/prometheus` request counter key of each (route, status), made once. */
  const countKeys = new Map<string, Map<number, string>>();
  const count = (routeKey: string, status: number): void => {
    let byStatus = countKeys.get(routeKey);
    if (byStatus === undefined) {
      byStatus = new Map();
      countKeys.set(routeKey, byStatus);
    }
    let k = byStatus.get(status);
    if (k === undefined) {
      k = `${routeKey} ${status}`;
      byStatus.set(status, k);
    }
    counters.requests.set(k, (counters.requests.get(k) ?? 0) + 1);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const respond = (reply: Reply, headers?: Record<string, string>): void => {
      count(route === undefined ? 'unknown' : path, reply.status);
      if (res.headersSent || res.destroyed) return;
      const text = reply.kind === 'json' ? JSON.stringify(reply.body) : reply.text;
      const type = reply.kind === 'json' ? 'application/json' : reply.type;
      // A flat [name, value, …] list: no header object built, merged or validated name by name.
      const raw: (string | number)[] = [
        'cache-control',
        'no-store',
        'access-control-allow-origin',
        '*',
        'content-type',
        type,
        'content-length',
        Buffer.byteLength(text),
      ];
      if (headers !== undefined) for (const [k, v] of Object.entries(headers)) raw.push(k, v);
      res.writeHead(reply.status, raw);
      res.end(text);
    };
    const fail = (e: unknown): void => {
      if (e instanceof HttpError) {
        if (e.status === 413) res.setHeader('connection', 'close');
        respond(json(err(e.body), e.status), e.headers);
      } else if (hasErrorCode(e, ErrorCode.InvalidRequest)) {
        const at = (e as InvalidRequestError).path;
        respond(json(err({ InvalidRequest: { path: at, message: e.message } }), 400));
      } else {
        log.error('http handler failed', { path, error: String(e) });
        respond(json(err({ Internal: { message: 'internal error' } }), 500));
      }
      // Whatever the client still sends is discarded.
      if (!req.complete) req.resume();
    };
    const serve = async (): Promise<void> => {
      if (route === undefined) {
        throw invalid(404, 'NotFound', `no route ${req.method ?? ''} ${path}`, path);
      }
      if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
        throw new HttpError(
          405,
          { MethodNotAllowed: { path, message: `${path} accepts ${route.method} only` } },
          { allow: route.method },
        );
      }
      if (
        route.admin &&
        opts.adminToken !== undefined &&
        !bearerMatches(req.headers.authorization, opts.adminToken)
      ) {
        throw new HttpError(
          401,
          { Unauthorized: { path, message: `${path} needs the admin token: Authorization: Bearer <token>` } },
          { 'www-authenticate': 'Bearer realm="flotilla-kv admin"' },
        );
      }
      let body: unknown;
      if (route.body) body = parseJsonBody(await readBody(req, maxBody));
      respond(await route.run(body));
    };
    serve().catch(fail);
  };
  return Object.assign(handler, { counters });
}

/** The body of `GET /metrics/event-loop`: the window's delay in ms, openraft-style field names. */
function loopDelayJson(d: LoopDelaySnapshot): Json {
  return {
    count: d.count,
    p50_ms: d.p50Ms,
    p99_ms: d.p99Ms,
    max_ms: d.maxMs,
    mean_ms: d.meanMs,
    window_ms: d.windowMs,
  };
}

/**
 * A `/write` body: one operation (`{"Set":…}`, `{"Delete":…}`, `{"Cas":…}`, `{"Append":…}`) with,
 * optionally, `"client_id"` and `"sequence"` beside it (an exactly-once session).
 */
export function parseWriteBody(body: unknown): KvRequest {
  if (!isPlainObject(body)) return parseKvRequest(body);
  const { client_id, sequence, ...op } = body;
  const session = parseKvSession(client_id, sequence);
  const req = parseKvRequest(op);
  return session === undefined ? req : { ...req, session };
}

/** A write under a session the state machine refused to apply (see `KvSessionError`). */
export class SessionRefused extends Error {
  readonly code = 'SESSION_REFUSED' as const;
  readonly reason: KvSessionError;
  readonly session: KvSession;
  constructor(reason: KvSessionError, session: KvSession) {
    super(`${reason}: client ${session.client_id}, sequence ${session.sequence}`);
    this.name = 'SessionRefused';
    this.reason = reason;
    this.session = session;
  }
}

/**
 * Runs a membership call, retrying it (every 50 ms, for up to `maxWaitMs`) while it fails with
 * `ChangeMembershipError {InProgress}`: right after an election the new leader's membership counts
 * as uncommitted until its first entry commits, and openraft's example scripts (which kv's API
 * follows) issue their membership calls back to back. Any other outcome is returned as it is.
 */
export async function whenNotInProgress<T>(f: () => Promise<T>, maxWaitMs = 10_000): Promise<T> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      const inProgress =
        hasErrorCode(e, ErrorCode.ChangeMembership) && (e as ChangeMembershipError).reason === 'InProgress';
      if (!inProgress || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Reads the whole body, refusing more than `limit` bytes with a 413. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(invalid(413, 'PayloadTooLarge', `body over ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      n += chunk.byteLength;
      if (n > limit) {
        done = true;
        reject(invalid(413, 'PayloadTooLarge', `body over ${limit} bytes`));
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(parts));
    });
    req.on('error', (e) => {
      if (done) return;
      done = true;
      reject(invalid(400, 'InvalidRequest', `reading the body failed: ${e.message}`));
    });
  });
}

/** Parses a JSON body; an empty body is `undefined`. */
function parseJsonBody(buf: Buffer): unknown {
  if (buf.byteLength === 0) return undefined;
  const text = buf.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid(400, 'InvalidJson', `malformed JSON: ${(e as Error).message}`);
  }
}

/**
 * The members of a new cluster from an `/init` body: empty, `{}` or `[]` make a single-node cluster
 * of this node; `[[1,"127.0.0.1:21001"],…]` lists every voter.
 */
export function parseInitBody(body: unknown, selfId: NodeId, selfAddr: string): Record<NodeId, Node> {
  const single = (): Record<NodeId, Node> => ({ [selfId]: { addr: selfAddr } });
  if (body === undefined || body === null) return single();
  if (isPlainObject(body)) {
    if (Object.keys(body).length === 0) return single();
    throw new InvalidRequestError('$', 'expected [] or [[node_id, "host:port"], …]');
  }
  if (!Array.isArray(body)) throw new InvalidRequestError('$', 'expected [] or [[node_id, "host:port"], …]');
  if (body.length === 0) return single();
  const nodes: Record<NodeId, Node> = {};
  body.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InvalidRequestError(`$[${i}]`, 'expected [node_id, "host:port"]');
    }
    const id = fromWireId(pair[0], `$[${i}][0]`);
    const addr = wireAddr(pair[1], `$[${i}][1]`);
    if (Object.hasOwn(nodes, id)) throw new InvalidRequestError(`$[${i}][0]`, `node ${id} listed twice`);
    nodes[id] = { addr };
  });
  return nodes;
}

/** A node address from a request body: `host:port` or `[v6]:port`, else a 400 naming `path`. */
function wireAddr(v: unknown, path: string): string {
  if (typeof v === 'string') {
    try {
      parseHostPort(v);
      return v;
    } catch {
      // answered below, with the request's path
    }
  }
  throw new InvalidRequestError(
    path,
    `expected an address "host:port", got ${JSON.stringify(v) ?? 'nothing'}`,
  );
}

async function defaultFetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return res.json();
}

/**
 * Every member's `/metrics`, fetched in parallel (this node's own from memory): the body of
 * `GET /cluster/metrics`, which the dashboard polls. Each node says what it is in this node's
 * effective membership, `member`: `"voter"` (in a config), `"learner"` (in the node table only)
 * or `null` (this node, not a member yet). A member that does not answer in time is listed with
 * `ok: false` and the error.
 */
export async function clusterMetrics(
  raft: RaftApi<KvRequest, KvResponse>,
  fetchJson: (url: string, timeoutMs: number) => Promise<unknown>,
  timeoutMs: number,
): Promise<Json> {
  const local = raft.metrics.current;
  const members: Record<NodeId, Node> = { ...local.membership.membership.nodes };
  const ids = Object.keys(members);
  if (!ids.includes(local.id)) ids.push(local.id);
  ids.sort(compareIds);
  const voters = new Set(local.membership.membership.configs.flat());
  const nodes = await Promise.all(
    ids.map(async (id): Promise<Json> => {
      const addr = members[id]?.addr ?? null;
      const member = voters.has(id) ? 'voter' : Object.hasOwn(members, id) ? 'learner' : null;
      const base = { id: toWireId(id), addr, member };
      if (id === local.id) return { ...base, ok: true, metrics: metricsJson(local) };
      if (addr === null) return { ...base, ok: false, error: 'no address' };
      try {
        const body = await fetchJson(`http://${addr}/metrics`, timeoutMs);
        if (isPlainObject(body) && isPlainObject(body.Ok))
          return { ...base, ok: true, metrics: body.Ok as Json };
        return { ...base, ok: false, error: 'unexpected reply' };
      } catch (e) {
        return { ...base, ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
  return { self: toWireId(local.id), time: Date.now(), nodes };
}
