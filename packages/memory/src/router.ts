import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  AsyncQueue,
  collectSnapshotData,
  compareLogId,
  hasErrorCode,
  type LogId,
  NetworkError,
  type Node,
  type NodeId,
  type RaftNetwork,
  type RaftNetworkFactory,
  type RaftRpcHandler,
  RemoteError,
  type RpcOptions,
  RpcTimeoutError,
  type Snapshot,
  type SnapshotOptions,
  type SnapshotResponse,
  type StreamAppendOptions,
  type StreamAppendResult,
  snapshotDataOf,
  type TransferLeaderRequest,
  UnreachableError,
  type Vote,
  type VoteRequest,
  type VoteResponse,
} from '@flotilla/types';
import { copyMessage } from './copy.ts';

/** The RPC kinds the router counts and hooks; `streamAppend` counts each request sent on a stream. */
export type RpcKind = 'appendEntries' | 'vote' | 'fullSnapshot' | 'transferLeader' | 'streamAppend';

/** The RPC kinds, in a stable order. */
export const RPC_KINDS: readonly RpcKind[] = [
  'appendEntries',
  'vote',
  'fullSnapshot',
  'transferLeader',
  'streamAppend',
];

/** What a hook sees of a message. */
export interface RpcContext {
  /** The kind of RPC. */
  kind: RpcKind;
  /** The sender. */
  from: NodeId;
  /** The target. */
  to: NodeId;
  /** The request (for `fullSnapshot`: `{ vote, meta }`). */
  request: unknown;
}

/** A hook run before a message is sent; throwing (or rejecting) fails the call with that error. */
export type BeforeHook = (ctx: RpcContext) => void | Promise<void>;
/** A hook run after a unary call answered (not for stream messages). */
export type AfterHook = (ctx: RpcContext & { response: unknown }) => void | Promise<void>;

/** A timer source; simulators inject a virtual one. Returns a function that cancels the timer. */
export interface RouterScheduler {
  /** Runs `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): () => void;
}

/** Options of {@link MemoryRouter}. */
export interface MemoryRouterOptions {
  /** Seed of the router's PRNG (delays, drops). Default 1. */
  seed?: number;
  /** A random source in `[0, 1)`, replacing the seeded one. */
  random?: () => number;
  /** The timer source (default: real timers). */
  scheduler?: RouterScheduler;
  /** Whether clients offer `streamAppend` (default `true`). */
  streamAppend?: boolean;
}

const realScheduler: RouterScheduler = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function toRemote(err: unknown): RemoteError {
  const code = hasErrorCode(err) ? err.code : null;
  const message = err instanceof Error ? err.message : String(err);
  return new RemoteError(code, `remote handler failed: ${message}`);
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new NetworkError('the call was aborted');
}

// The router delivers requests as they are, malformed ones included: validating them is the
// receiving runtime's business. Its own bookkeeping reads them through these tolerant helpers.

/** How many entries an AppendEntries carries (0 when it is malformed). */
/** The key of one (kind, from, to) message counter. */
function countKeyOf(kind: RpcKind, from: NodeId, to: NodeId): string {
  return `${kind}\u0000${from}\u0000${to}`;
}

function entryCountOf(req: AppendEntriesRequest): number {
  const entries = (req as Partial<AppendEntriesRequest> | null)?.entries;
  return Array.isArray(entries) ? entries.length : 0;
}

/** The last log id an AppendEntries covers (`null` when it is malformed). */
function lastIdOf(req: AppendEntriesRequest): LogId | null {
  const r = req as Partial<AppendEntriesRequest> | null;
  if (r === null || typeof r !== 'object') return null;
  const entries = Array.isArray(r.entries) ? r.entries : [];
  return entries[entries.length - 1]?.logId ?? r.prevLogId ?? null;
}

/**
 * An in-memory network between Raft nodes with fault injection: isolate a node, fail one direction,
 * mark a node unreachable, random per-message delays, drops, an AppendEntries quota, hooks, per-kind
 * counts, and native pipelined `streamAppend` with ordered cumulative acks. Messages are deep-copied
 * (a deep copy, byte arrays included) in both directions, as a wire would. Randomness is seeded and the timers
 * injectable, so a simulator can replay a run exactly.
 */
export class MemoryRouter {
  readonly #handlers = new Map<NodeId, RaftRpcHandler>();
  readonly #isolated = new Set<NodeId>();
  readonly #unreachable = new Set<NodeId>();
  readonly #blocked = new Set<string>();
  readonly #quota = new Map<NodeId, number>();
  readonly #quotaWaiters = new Set<() => void>();
  readonly #before = new Map<RpcKind, Set<BeforeHook>>();
  readonly #after = new Map<RpcKind, Set<AfterHook>>();
  readonly #counts = new Map<string, number>();
  readonly #random: () => number;
  readonly #scheduler: RouterScheduler;
  #delay = { minMs: 0, maxMs: 0 };
  #dropRate = 0;
  #streamAppend: boolean;
  #streamsOpened = 0;

  /** Makes a router with no nodes. */
  constructor(opts: MemoryRouterOptions = {}) {
    this.#random = opts.random ?? mulberry32(opts.seed ?? 1);
    this.#scheduler = opts.scheduler ?? realScheduler;
    this.#streamAppend = opts.streamAppend ?? true;
  }

  /** Serves `id` with `handler` (replacing any earlier one). */
  register(id: NodeId, handler: RaftRpcHandler): void {
    this.#handlers.set(id, handler);
  }

  /** Removes `id`: calls to it fail with `UnreachableError` (its server is down). */
  unregister(id: NodeId): void {
    this.#handlers.delete(id);
  }

  /** A network factory for node `from`; its clients send as `from`. */
  factory(from: NodeId): RaftNetworkFactory {
    return { newClient: (target: NodeId, _node: Node) => this.#client(from, target) };
  }

  /** Cuts `id` off in both directions. */
  isolate(id: NodeId): void {
    this.#isolated.add(id);
  }

  /** Fails messages from `from` to `to` only (replies the other way still fail when they travel it). */
  blockLink(from: NodeId, to: NodeId): void {
    this.#blocked.add(`${from}\u0000${to}`);
  }

  /** Restores the link from `from` to `to`. */
  unblockLink(from: NodeId, to: NodeId): void {
    this.#blocked.delete(`${from}\u0000${to}`);
  }

  /** Marks `id` unreachable (calls to it fail with `UnreachableError`; it can still send) or not. */
  setUnreachable(id: NodeId, unreachable = true): void {
    if (unreachable) this.#unreachable.add(id);
    else this.#unreachable.delete(id);
  }

  /** Heals every fault on `id` (or on every node): isolation, unreachability, blocked links. */
  heal(id?: NodeId): void {
    if (id === undefined) {
      this.#isolated.clear();
      this.#unreachable.clear();
      this.#blocked.clear();
      return;
    }
    this.#isolated.delete(id);
    this.#unreachable.delete(id);
    for (const k of [...this.#blocked]) if (k.split('\u0000').includes(id)) this.#blocked.delete(k);
  }

  /** Delays every message (each way) by a random time in `[minMs, maxMs]`; order on a stream is kept. */
  setDelay(minMs: number, maxMs = minMs): void {
    if (!(minMs >= 0 && maxMs >= minMs)) throw new RangeError(`bad delay range [${minMs}, ${maxMs}]`);
    this.#delay = { minMs, maxMs };
  }

  /**
   * Drops a share `rate` in `[0, 1]` of messages: a dropped unary request fails with `NetworkError`, a
   * dropped stream message breaks its stream (like a reset connection).
   */
  setDropRate(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`bad drop rate ${rate}`);
    this.#dropRate = rate;
  }

  /**
   * Lets only `entries` more log entries reach `target` (`null`: no limit). A unary AppendEntries over
   * the quota is cut to it and a success answered as `partialSuccess`; a stream holds the request
   * that does not fit (requests are never split) until the quota grows.
   */
  setAppendQuota(target: NodeId, entries: number | null): void {
    if (entries === null) this.#quota.delete(target);
    else this.#quota.set(target, Math.max(0, Math.floor(entries)));
    for (const w of [...this.#quotaWaiters]) w();
  }

  /** The remaining append quota of `target` (`null`: none). */
  appendQuota(target: NodeId): number | null {
    return this.#quota.get(target) ?? null;
  }

  /** Turns `streamAppend` on or off for clients made from now on. */
  setStreamAppend(enabled: boolean): void {
    this.#streamAppend = enabled;
  }

  /** Adds a hook run before each message of `kind`; returns a function that removes it. */
  before(kind: RpcKind, hook: BeforeHook): () => void {
    return this.#addHook(this.#before, kind, hook);
  }

  /** Adds a hook run after each answered unary call of `kind`; returns a function that removes it. */
  after(kind: RpcKind, hook: AfterHook): () => void {
    return this.#addHook(this.#after, kind, hook);
  }

  /** How many messages of `kind` were sent (optionally only from / to given nodes). */
  count(kind: RpcKind, filter: { from?: NodeId; to?: NodeId } = {}): number {
    let n = 0;
    for (const [k, v] of this.#counts) {
      const [kk, from, to] = k.split('\u0000');
      if (
        kk === kind &&
        (filter.from === undefined || filter.from === from) &&
        (filter.to === undefined || filter.to === to)
      )
        n += v;
    }
    return n;
  }

  /** Messages sent, per kind. */
  counts(): Record<RpcKind, number> {
    const out = {} as Record<RpcKind, number>;
    for (const k of RPC_KINDS) out[k] = this.count(k);
    return out;
  }

  /** How many streams were opened. */
  get streamsOpened(): number {
    return this.#streamsOpened;
  }

  /** Zeroes every count. */
  resetCounts(): void {
    this.#counts.clear();
    this.#streamsOpened = 0;
  }

  #addHook<H>(map: Map<RpcKind, Set<H>>, kind: RpcKind, hook: H): () => void {
    let set = map.get(kind);
    if (set === undefined) map.set(kind, (set = new Set()));
    set.add(hook);
    return () => set.delete(hook);
  }

  #client(from: NodeId, to: NodeId): RaftNetwork {
    const client: RaftNetwork = {
      appendEntries: (req, opts) =>
        this.#unary('appendEntries', from, to, req, opts, (h, r) => this.#deliverAppend(h, to, r)),
      vote: (req: VoteRequest, opts?: RpcOptions): Promise<VoteResponse> =>
        this.#unary('vote', from, to, req, opts, (h, r) => h.vote(r)),
      fullSnapshot: (vote, snapshot, opts) => this.#fullSnapshot(from, to, vote, snapshot, opts),
      transferLeader: (req: TransferLeaderRequest, opts?: RpcOptions): Promise<void> =>
        this.#unary('transferLeader', from, to, req, opts, (h, r) => h.transferLeader(r)),
    };
    if (this.#streamAppend) {
      client.streamAppend = (input, opts) => ({
        [Symbol.asyncIterator]: () => this.#stream(from, to, input, opts)[Symbol.asyncIterator](),
      });
    }
    return client;
  }

  async #deliverAppend(
    h: RaftRpcHandler,
    to: NodeId,
    req: AppendEntriesRequest,
  ): Promise<AppendEntriesResponse> {
    const quota = this.#quota.get(to);
    const count = entryCountOf(req);
    if (quota === undefined || count <= quota) {
      if (quota !== undefined) this.#quota.set(to, quota - count);
      return h.appendEntries(req);
    }
    this.#quota.set(to, 0);
    const cut = req.entries.slice(0, quota);
    const res = await h.appendEntries({ ...req, entries: cut });
    if (res.type !== 'success') return res;
    return { type: 'partialSuccess', matching: cut[cut.length - 1]?.logId ?? req.prevLogId };
  }

  #routeError(from: NodeId, to: NodeId): Error | null {
    if (!this.#handlers.has(to)) return new UnreachableError(`node ${to} is not serving`);
    if (this.#unreachable.has(to)) return new UnreachableError(`node ${to} is unreachable`);
    if (this.#isolated.has(from) || this.#isolated.has(to))
      return new UnreachableError(`no route from ${from} to ${to}: isolated`);
    if (this.#blocked.has(`${from}\u0000${to}`))
      return new UnreachableError(`the link ${from} -> ${to} is down`);
    return null;
  }

  #linkUp(from: NodeId, to: NodeId): boolean {
    return !this.#isolated.has(from) && !this.#isolated.has(to) && !this.#blocked.has(`${from}\u0000${to}`);
  }

  #sampleDelay(): number {
    const { minMs, maxMs } = this.#delay;
    return maxMs <= 0 ? 0 : minMs + this.#random() * (maxMs - minMs);
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.#scheduler.setTimeout(resolve, ms));
  }

  #dropped(): boolean {
    return this.#dropRate > 0 && this.#random() < this.#dropRate;
  }

  #count(kind: RpcKind, from: NodeId, to: NodeId): void {
    this.#countKey(countKeyOf(kind, from, to));
  }

  #countKey(k: string): void {
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
  }

  async #runBefore(ctx: RpcContext): Promise<void> {
    for (const hook of this.#before.get(ctx.kind) ?? []) await hook(ctx);
  }

  /** Races `op` against `opts.timeoutMs` and `opts.signal`. */
  #deadline<T>(op: Promise<T>, opts: RpcOptions | undefined, what: string): Promise<T> {
    const { signal, timeoutMs } = opts ?? {};
    if (signal === undefined && timeoutMs === undefined) return op;
    op.catch(() => {});
    return new Promise<T>((resolve, reject) => {
      let cancelTimer = (): void => {};
      const onAbort = (): void => finish(() => reject(abortError(signal!)));
      const finish = (f: () => void): void => {
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
        f();
      };
      if (timeoutMs !== undefined) {
        cancelTimer = this.#scheduler.setTimeout(
          () => finish(() => reject(new RpcTimeoutError(`${what}: no answer within ${timeoutMs} ms`))),
          timeoutMs,
        );
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      op.then(
        (v) => finish(() => resolve(v)),
        (e) => finish(() => reject(e)),
      );
    });
  }

  #unary<Req, Res>(
    kind: RpcKind,
    from: NodeId,
    to: NodeId,
    req: Req,
    opts: RpcOptions | undefined,
    invoke: (h: RaftRpcHandler, req: Req) => Promise<Res>,
  ): Promise<Res> {
    if (opts?.signal?.aborted) return Promise.reject(abortError(opts.signal));
    const op = (async () => {
      const ctx: RpcContext = { kind, from, to, request: req };
      await this.#runBefore(ctx);
      this.#count(kind, from, to);
      const routeErr = this.#routeError(from, to);
      if (routeErr !== null) throw routeErr;
      const dropped = this.#dropped();
      await this.#sleep(this.#sampleDelay());
      if (dropped) throw new NetworkError(`${kind} ${from} -> ${to}: message lost`);
      if (opts?.signal?.aborted) throw abortError(opts.signal);
      const h = this.#handlers.get(to);
      if (h === undefined || !this.#linkUp(from, to))
        throw new NetworkError(`${kind} ${from} -> ${to}: link failed in flight`);
      let res: Res;
      try {
        res = await invoke(h, copyMessage(req));
      } catch (err) {
        throw toRemote(err);
      }
      await this.#sleep(this.#sampleDelay());
      if (!this.#linkUp(to, from)) throw new NetworkError(`${kind} ${from} -> ${to}: the reply was lost`);
      const out = copyMessage(res);
      for (const hook of this.#after.get(kind) ?? []) await hook({ ...ctx, response: out });
      return out;
    })();
    return this.#deadline(op, opts, `${kind} ${from} -> ${to}`);
  }

  async #fullSnapshot(
    from: NodeId,
    to: NodeId,
    vote: Vote,
    snapshot: Snapshot,
    opts?: SnapshotOptions,
  ): Promise<SnapshotResponse> {
    const bytes = await collectSnapshotData(snapshot.data);
    const chunk = opts?.chunkBytes ?? 64 * 1024;
    return this.#unary('fullSnapshot', from, to, { vote, meta: snapshot.meta }, opts, (h, r) =>
      h.installFullSnapshot(r.vote, r.meta, snapshotDataOf(bytes.slice(), chunk)),
    );
  }

  /** A pipelined stream: requests and replies each travel an ordered link with per-message delays. */
  async *#stream(
    from: NodeId,
    to: NodeId,
    input: AsyncIterable<AppendEntriesRequest>,
    opts?: StreamAppendOptions,
  ): AsyncGenerator<StreamAppendResult> {
    const signal = opts?.signal;
    if (signal?.aborted) throw abortError(signal);
    this.#streamsOpened++;
    const routeErr = this.#routeError(from, to);
    if (routeErr !== null) throw routeErr;
    const handler = this.#handlers.get(to)!;
    const inner = new AbortController();
    // Mirrors `inner.signal.aborted`, which is read per message (the getter is not free); `inner`
    // is only ever aborted through `close`.
    let closed = false;
    const close = (): void => {
      closed = true;
      inner.abort();
    };
    const streamKey = countKeyOf('streamAppend', from, to);
    const toServer = new AsyncQueue<AppendEntriesRequest>();
    const toClient = new AsyncQueue<StreamAppendResult>();
    const outstanding: (LogId | null)[] = [];
    const timeoutMs = opts?.timeoutMs;
    let cancelTimer: (() => void) | null = null;
    const rearm = (): void => {
      cancelTimer?.();
      cancelTimer = null;
      if (timeoutMs === undefined || outstanding.length === 0 || closed) return;
      cancelTimer = this.#scheduler.setTimeout(() => {
        toClient.failNow(
          new RpcTimeoutError(`streamAppend ${from} -> ${to}: no reply within ${timeoutMs} ms`),
        );
        close();
      }, timeoutMs);
    };
    const stopTimer = (): void => {
      cancelTimer?.();
      cancelTimer = null;
    };
    const breakStream = (err: unknown): void => {
      toClient.failNow(err);
      close();
    };
    let sendChain = Promise.resolve();
    let replyChain = Promise.resolve();
    const deliver = (fn: () => void): void => {
      if (!closed) fn();
    };
    const ordered = (chain: Promise<void>, fn: () => void): Promise<void> => {
      const ms = this.#sampleDelay();
      // Without a delay the message only waits for the one before it (no timer, no Promise.all).
      if (ms <= 0) return chain.then(() => deliver(fn));
      return Promise.all([chain, this.#sleep(ms)]).then(() => deliver(fn));
    };
    const onAbort = (): void => breakStream(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const inputIt = input[Symbol.asyncIterator]();

    const pump = async (): Promise<void> => {
      for (;;) {
        const next = await inputIt.next();
        if (closed) return;
        if (next.done) break;
        const req = next.value;
        // Hooks and quotas are rare: without them a message costs no awaits here.
        if (this.#before.get('streamAppend')?.size) {
          await this.#runBefore({ kind: 'streamAppend', from, to, request: req });
          if (closed) return;
        }
        if (this.#quota.has(to)) {
          await this.#takeQuota(to, entryCountOf(req), inner.signal);
          if (closed) return;
        }
        this.#countKey(streamKey);
        if (!this.#linkUp(from, to) || this.#unreachable.has(to))
          throw new NetworkError(`streamAppend ${from} -> ${to}: the link failed`);
        if (this.#dropped())
          throw new NetworkError(`streamAppend ${from} -> ${to}: a message was lost; stream reset`);
        const copy = copyMessage(req);
        outstanding.push(lastIdOf(req));
        if (cancelTimer === null) rearm();
        sendChain = ordered(sendChain, () => toServer.push(copy));
      }
      sendChain = ordered(sendChain, () => toServer.end());
    };
    const serve = async (): Promise<void> => {
      for await (const res of handler.streamAppend(toServer, { signal: inner.signal })) {
        if (closed) return;
        if (!this.#linkUp(to, from))
          throw new NetworkError(`streamAppend ${from} -> ${to}: the reply link failed`);
        const copy = copyMessage(res);
        replyChain = ordered(replyChain, () => {
          if (copy.type === 'matched') {
            while (outstanding.length > 0 && compareLogId(outstanding[0]!, copy.matching) <= 0)
              outstanding.shift();
          }
          rearm();
          toClient.push(copy);
        });
        if (res.type !== 'matched') break;
      }
      replyChain = ordered(replyChain, () => toClient.end());
    };
    pump().catch((err: unknown) => breakStream(err));
    serve().catch((err: unknown) => {
      const e = hasErrorCode(err, 'NETWORK') ? err : toRemote(err);
      replyChain = ordered(replyChain, () => toClient.fail(e));
    });

    try {
      for (;;) {
        const next = await toClient.next();
        if (next.done) return;
        let r = next.value;
        // Coalesce acknowledgements already waiting: a later watermark covers an earlier one.
        while (r.type === 'matched' && toClient.peek()?.type === 'matched') r = toClient.take();
        yield r;
        if (r.type !== 'matched') return;
      }
    } finally {
      stopTimer();
      signal?.removeEventListener('abort', onAbort);
      close();
      toServer.end();
      inputIt.return?.().catch(() => {});
    }
  }

  async #takeQuota(to: NodeId, n: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      const q = this.#quota.get(to);
      if (q === undefined) return;
      if (q >= n) {
        this.#quota.set(to, q - n);
        return;
      }
      if (signal.aborted) return;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.#quotaWaiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#quotaWaiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }
}
