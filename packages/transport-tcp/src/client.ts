import net from 'node:net';
import type tls from 'node:tls';
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  AsyncQueue,
  compareLogId,
  ErrorCode,
  hasErrorCode,
  InvalidConfigError,
  type Logger,
  type LogId,
  NetworkError,
  type Node,
  type NodeId,
  parseHostPort,
  type RaftNetwork,
  type RaftNetworkFactory,
  RemoteError,
  type RpcOptions,
  RpcTimeoutError,
  type Snapshot,
  type SnapshotOptions,
  type SnapshotResponse,
  type StreamAppendOptions,
  type StreamAppendResult,
  silentLogger,
  type TransferLeaderRequest,
  UnreachableError,
  type Vote,
  type VoteRequest,
  type VoteResponse,
} from '@flotilla/types';
import { secretBytes } from './auth.ts';
import { dial } from './dial.ts';
import type { FramedSocket } from './framing.ts';
import { type ConnectionKind, DEFAULT_MAX_FRAME_BYTES, Frame, type UnaryMethod } from './protocol.ts';

/** Options of {@link tcpNetwork}. */
export interface TcpNetworkInit {
  /** The cluster this node belongs to; servers of another cluster refuse the handshake. */
  clusterId: string;
  /** This node's id, sent in every hello. */
  nodeId: NodeId;
  /** A shared secret: both sides prove they know it (HMAC challenge–response) on every connection. */
  secret?: string | Uint8Array;
  /** TLS options (`ca`, and `key` + `cert` for mutual authentication). Without them, plain TCP. */
  tls?: tls.ConnectionOptions;
  /** The largest frame body sent or accepted, in bytes (default 16 MiB). */
  maxFrameBytes?: number;
  /** Bounds connecting plus the handshake, in ms (default 3000); past it, `UnreachableError`. */
  connectTimeoutMs?: number;
  /**
   * After a failed connect, further connects to that target fail fast with `UnreachableError` for a
   * delay that doubles from `initialMs` (default 10) up to `maxMs` (default 500); a success resets it.
   */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Snapshot chunk size in bytes when the call gives none (default 256 KiB). */
  snapshotChunkBytes?: number;
  /**
   * The local IP address every outgoing connection is bound to (`socket.localAddress`), e.g. this
   * node's own address, so peers and packet filters see connections coming from it (on loopback,
   * every connection otherwise leaves from 127.0.0.1). Default: chosen by the OS.
   *
   * @throws `InvalidConfigError` from {@link tcpNetwork} when it is not an IPv4 or IPv6 address.
   */
  localAddress?: string;
  /**
   * Maps a node to a host and port; the default parses `node.addr` as `host:port` or `[v6]:port`
   * (`parseHostPort` of `@flotilla/types`). With a mapping of your own, `validateAddress` accepts
   * every address: what an address means is then yours to check.
   */
  resolve?: (target: NodeId, node: Node) => { host: string; port: number } | undefined;
  /** Where connection events are reported. */
  logger?: Logger;
}

/** A {@link @flotilla/types#RaftNetworkFactory} whose clients speak TCP, plus `close()` for all of them. */
export interface TcpNetworkFactory extends RaftNetworkFactory {
  /** A client to `target`; connects lazily, on first use. */
  newClient(target: NodeId, node: Node): TcpNetworkClient;
  /**
   * Why this transport cannot use `node.addr`, or `null` when it can: the runtime asks before a node
   * enters the membership (`initialize`, `addLearner`, `changeMembership`), so a bad address is
   * refused where it is given instead of leaving a peer that never connects. Without a `resolve` of
   * your own, `node.addr` must be `host:port` with a port in 1–65535, host a host name, a dotted
   * IPv4 address or a bracketed IPv6 address (`[::1]:7000`); with one, every address is accepted.
   *
   * @example
   * ```ts
   * network.validateAddress({ addr: '10.0.0.2:7000' }); // null
   * network.validateAddress({ addr: 'localhost' }); // '"localhost" has no port: expected host:port, e.g. "localhost:7000"'
   * ```
   */
  validateAddress(node: Node): string | null;
  /** Closes every client made by this factory. */
  close(): Promise<void>;
}

/** A client to one node, with every optional `RaftNetwork` method implemented. */
export interface TcpNetworkClient extends RaftNetwork {
  /** Pipelined AppendEntries on a dedicated connection; see `RaftNetwork.streamAppend`. */
  streamAppend(
    input: AsyncIterable<AppendEntriesRequest>,
    opts?: StreamAppendOptions,
  ): AsyncIterable<StreamAppendResult>;
  /** Asks the target to take over leadership. */
  transferLeader(req: TransferLeaderRequest, opts?: RpcOptions): Promise<void>;
  /** Exponential delays (50 ms doubling to 2 s) for the runtime to wait between attempts. */
  backoff(): Iterable<number>;
  /** Closes every connection; pending calls reject with `NetworkError`, open streams fail. */
  close(): Promise<void>;
}

/**
 * Makes the client side of the TCP transport.
 *
 * @example
 * ```ts
 * const network = tcpNetwork({ clusterId: 'prod', nodeId: 'a', secret: process.env.RAFT_SECRET });
 * const b = network.newClient('b', { addr: '10.0.0.2:7000' });
 * const res = await b.vote(req, { timeoutMs: 200 });
 * ```
 */
export function tcpNetwork(init: TcpNetworkInit): TcpNetworkFactory {
  if (init.localAddress !== undefined && net.isIP(init.localAddress) === 0)
    throw new InvalidConfigError(
      'localAddress',
      `expected an IP address, got ${JSON.stringify(init.localAddress)}`,
    );
  const clients = new Set<TcpClient>();
  return {
    newClient(target: NodeId, node: Node): TcpNetworkClient {
      const c = new TcpClient(init, target, node, () => clients.delete(c));
      clients.add(c);
      return c;
    },
    validateAddress(node: Node): string | null {
      if (init.resolve !== undefined) return null;
      const r = parseHostPort(node.addr);
      return r.ok ? null : r.reason;
    },
    async close(): Promise<void> {
      await Promise.all([...clients].map((c) => c.close()));
    },
  };
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new NetworkError('aborted');
}

/** Runs `body` under the call's timeout and abort signal; cleanups run once the call settles. */
function withDeadline<T>(
  opts: RpcOptions | undefined,
  what: string,
  body: (onSettle: (f: () => void) => void) => Promise<T>,
): Promise<T> {
  const signal = opts?.signal;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const cleanups: (() => void)[] = [];
    const finish = () => {
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const f of cleanups) f();
    };
    const onAbort = () => {
      if (done) return;
      finish();
      reject(abortReason(signal!));
    };
    const ms = opts?.timeoutMs;
    const timer =
      ms === undefined
        ? undefined
        : setTimeout(() => {
            if (done) return;
            finish();
            reject(new RpcTimeoutError(`${what} got no answer within ${ms} ms`));
          }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    body((f) => (done ? f() : cleanups.push(f))).then(
      (v) => {
        if (done) return;
        finish();
        resolve(v);
      },
      (e: unknown) => {
        if (done) return;
        finish();
        reject(e);
      },
    );
  });
}

// Requests are sent as given, malformed ones included: validating them is the receiving runtime's
// business. The client's own bookkeeping reads them through these tolerant helpers.

/** How many entries an AppendEntries carries (0 when it is malformed). */
function entryCountOf(req: AppendEntriesRequest): number {
  const entries = (req as Partial<AppendEntriesRequest> | null)?.entries;
  return Array.isArray(entries) ? entries.length : 0;
}

/** The last log id an AppendEntries covers (`null` when it is malformed). */
function lastLogIdOf(req: AppendEntriesRequest): LogId | null {
  const r = req as Partial<AppendEntriesRequest> | null;
  if (r === null || typeof r !== 'object') return null;
  const entries = Array.isArray(r.entries) ? r.entries : [];
  return entries[entries.length - 1]?.logId ?? r.prevLogId ?? null;
}

function remoteError(code: unknown, message: unknown): RemoteError {
  return new RemoteError(typeof code === 'string' ? code : null, `remote: ${String(message)}`);
}

/**
 * Whether a stream reply acknowledges up to a log id: the client tracks that for its idle timer. The
 * reply itself is handed on as it came; the runtime checks its content.
 */
function isMatchedReply(x: unknown): x is { type: 'matched'; matching: LogId | null } {
  return typeof x === 'object' && x !== null && (x as { type?: unknown }).type === 'matched';
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A connection carrying unary calls multiplexed by request id; reopened on demand after a failure. */
class UnaryChannel {
  readonly #client: TcpClient;
  readonly #kind: ConnectionKind;
  #conn: Promise<FramedSocket> | undefined;
  #open: FramedSocket | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(client: TcpClient, kind: ConnectionKind) {
    this.#client = client;
    this.#kind = kind;
  }

  call(method: UnaryMethod, payload: unknown, opts: RpcOptions | undefined): Promise<unknown> {
    return withDeadline(opts, `${method} to ${this.#client.target}`, async (onSettle) => {
      const framed = await this.#connection();
      if (framed.closed) throw new NetworkError('connection lost');
      const id = this.#nextId++;
      const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
      onSettle(() => this.#pending.delete(id));
      try {
        framed.send([Frame.Request, id, method, payload]);
      } catch (err) {
        throw hasErrorCode(err, ErrorCode.Network) ? err : new NetworkError('cannot send', { cause: err });
      }
      return answer;
    });
  }

  #connection(): Promise<FramedSocket> {
    if (this.#conn === undefined) {
      const p = this.#client.connect(this.#kind).then((framed) => this.#adopt(framed));
      p.catch(() => {
        if (this.#conn === p) this.#conn = undefined;
      });
      this.#conn = p;
    }
    return this.#conn;
  }

  #adopt(framed: FramedSocket): FramedSocket {
    this.#open = framed;
    framed.onFrame = (b) => {
      if (!Array.isArray(b) || typeof b[1] !== 'number')
        return framed.close(new NetworkError('malformed reply'));
      const p = this.#pending.get(b[1]);
      if (p === undefined) return; // timed out or aborted: a late answer is dropped
      this.#pending.delete(b[1]);
      if (b[0] === Frame.Response) p.resolve(b[2]);
      else if (b[0] === Frame.Failure) p.reject(remoteError(b[2], b[3]));
      else framed.close(new NetworkError('unexpected frame on a unary connection'));
    };
    framed.onClose = (err) => {
      if (this.#open === framed) {
        this.#open = undefined;
        this.#conn = undefined;
      }
      const e = new NetworkError(`connection to ${this.#client.target} lost`, { cause: err });
      const pending = [...this.#pending.values()];
      this.#pending.clear();
      for (const p of pending) p.reject(e);
    };
    return framed;
  }

  close(): void {
    this.#open?.close(new NetworkError('client closed'));
  }
}

class TcpClient implements TcpNetworkClient {
  readonly target: NodeId;
  readonly #init: TcpNetworkInit;
  readonly #node: Node;
  readonly #secret: Uint8Array | undefined;
  readonly #log: Logger;
  readonly #unary: UnaryChannel;
  readonly #bulk: UnaryChannel;
  readonly #others = new Set<FramedSocket>();
  readonly #onClose: () => void;
  #failures = 0;
  #retryAt = 0;
  #closed = false;

  constructor(init: TcpNetworkInit, target: NodeId, node: Node, onClose: () => void) {
    this.#init = init;
    this.target = target;
    this.#node = node;
    this.#secret = secretBytes(init.secret);
    this.#log = init.logger ?? silentLogger;
    this.#unary = new UnaryChannel(this, 'unary');
    this.#bulk = new UnaryChannel(this, 'bulk');
    this.#onClose = onClose;
  }

  /** The host and port to dial, or `UnreachableError` saying why there is none. */
  #address(): { host: string; port: number } {
    if (this.#init.resolve !== undefined) {
      const addr = this.#init.resolve(this.target, this.#node);
      if (addr === undefined) throw new UnreachableError(`node ${this.target} has no usable address`);
      return addr;
    }
    const r = parseHostPort(this.#node.addr);
    if (!r.ok) throw new UnreachableError(`node ${this.target} has no usable address: ${r.reason}`);
    return r.value;
  }

  /** Opens a connection of `kind` (internal). */
  async connect(kind: ConnectionKind): Promise<FramedSocket> {
    if (this.#closed) throw new NetworkError('client closed');
    const addr = this.#address();
    const now = Date.now();
    if (now < this.#retryAt)
      throw new UnreachableError(`backing off from ${this.target} for ${this.#retryAt - now} ms`);
    try {
      const framed = await dial({
        ...addr,
        tls: this.#init.tls,
        localAddress: this.#init.localAddress,
        kind,
        clusterId: this.#init.clusterId,
        from: this.#init.nodeId,
        to: this.target,
        secret: this.#secret,
        maxFrameBytes: this.#init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
        timeoutMs: this.#init.connectTimeoutMs ?? 3_000,
      });
      this.#failures = 0;
      if (this.#closed) {
        framed.close(undefined);
        throw new NetworkError('client closed');
      }
      this.#log.debug('connected', { target: this.target, kind });
      return framed;
    } catch (err) {
      if (hasErrorCode(err, ErrorCode.Unreachable)) {
        const initial = this.#init.reconnect?.initialMs ?? 10;
        const max = this.#init.reconnect?.maxMs ?? 500;
        this.#retryAt = Date.now() + Math.min(max, initial * 2 ** this.#failures);
        this.#failures++;
        this.#log.debug('connect failed', { target: this.target, kind, error: err.message });
      }
      throw err;
    }
  }

  async appendEntries(req: AppendEntriesRequest, opts?: RpcOptions): Promise<AppendEntriesResponse> {
    // Heartbeats go on the unary connection, anything else (malformed requests included) on bulk.
    const channel = entryCountOf(req) === 0 ? this.#unary : this.#bulk;
    // The answer's content is the runtime's to check, like a request's.
    return (await channel.call('append', req, opts)) as AppendEntriesResponse;
  }

  async vote(req: VoteRequest, opts?: RpcOptions): Promise<VoteResponse> {
    return (await this.#unary.call('vote', req, opts)) as VoteResponse;
  }

  async transferLeader(req: TransferLeaderRequest, opts?: RpcOptions): Promise<void> {
    await this.#unary.call('transfer', req, opts);
  }

  fullSnapshot(vote: Vote, snapshot: Snapshot, opts?: SnapshotOptions): Promise<SnapshotResponse> {
    const chunkBytes = Math.max(1, opts?.chunkBytes ?? this.#init.snapshotChunkBytes ?? 256 * 1024);
    return withDeadline(opts, `snapshot to ${this.target}`, async (onSettle) => {
      const framed = await this.connect('snapshot');
      this.#others.add(framed);
      onSettle(() => {
        this.#others.delete(framed);
        framed.close(undefined);
      });
      const result = new Promise<SnapshotResponse>((resolve, reject) => {
        framed.onFrame = (b) => {
          if (Array.isArray(b) && b[0] === Frame.SnapshotDone) return resolve(b[1] as SnapshotResponse);
          if (Array.isArray(b) && b[0] === Frame.SnapshotFailure) return reject(remoteError(b[1], b[2]));
          reject(new NetworkError('unexpected frame on a snapshot connection'));
        };
        framed.onClose = (err) => reject(new NetworkError('snapshot connection lost', { cause: err }));
      });
      result.catch(() => {});
      try {
        framed.send([Frame.SnapshotHead, vote, snapshot.meta]);
        for await (const chunk of snapshot.data) {
          for (let at = 0; at < chunk.byteLength; at += chunkBytes) {
            if (!framed.send([Frame.SnapshotChunk, chunk.subarray(at, at + chunkBytes)]))
              await framed.drained();
          }
        }
        framed.send([Frame.SnapshotEnd]);
      } catch (err) {
        if (framed.closed) await result; // prefer the server's own reason when it gave one
        throw err;
      }
      return result;
    });
  }

  streamAppend(
    input: AsyncIterable<AppendEntriesRequest>,
    opts?: StreamAppendOptions,
  ): AsyncIterable<StreamAppendResult> {
    return { [Symbol.asyncIterator]: () => this.#runStream(input, opts) };
  }

  async *#runStream(
    input: AsyncIterable<AppendEntriesRequest>,
    opts: StreamAppendOptions | undefined,
  ): AsyncGenerator<StreamAppendResult, void, undefined> {
    const signal = opts?.signal;
    if (signal?.aborted) throw abortReason(signal);
    const framed = await withDeadline({ ...(signal ? { signal } : {}) }, 'stream connect', (onSettle) => {
      const p = this.connect('stream');
      onSettle(
        () =>
          void p.then(
            (c) => signal?.aborted && c.close(undefined),
            () => {},
          ),
      );
      return p;
    });
    this.#others.add(framed);
    const results = new AsyncQueue<StreamAppendResult>();
    // Last log id of each request sent and not yet covered by a `matched` watermark.
    const outstanding: (LogId | null)[] = [];
    let head = 0;
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = opts?.timeoutMs;
    const arm = () => {
      clearTimeout(timer);
      timer = undefined;
      if (timeoutMs === undefined || head >= outstanding.length) return;
      timer = setTimeout(() => {
        results.fail(new RpcTimeoutError(`stream to ${this.target}: no reply within ${timeoutMs} ms`));
        framed.close(undefined);
      }, timeoutMs);
    };
    framed.onFrame = (b) => {
      if (!Array.isArray(b)) return framed.close(new NetworkError('malformed stream frame'));
      if (b[0] === Frame.StreamResult) {
        const r = b[1] as StreamAppendResult;
        if (isMatchedReply(r)) {
          while (head < outstanding.length && compareLogId(outstanding[head]!, r.matching) <= 0) head++;
          if (head > 1024 && head * 2 > outstanding.length) {
            outstanding.splice(0, head);
            head = 0;
          }
        }
        results.push(r);
        arm();
      } else if (b[0] === Frame.StreamFinish) {
        results.end();
        framed.close(undefined);
      } else if (b[0] === Frame.StreamFailure) {
        results.fail(remoteError(b[1], b[2]));
        framed.close(undefined);
      } else {
        results.fail(new NetworkError('unexpected frame on a stream connection'));
        framed.close(undefined);
      }
    };
    framed.onClose = (err) => results.fail(new NetworkError(`stream to ${this.target} lost`, { cause: err }));
    const onAbort = () => {
      results.fail(abortReason(signal!));
      framed.close(undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const it = input[Symbol.asyncIterator]();
    let stopped = false;
    const pump = async () => {
      try {
        while (!stopped) {
          const n = await it.next();
          if (n.done === true || stopped || framed.closed) break;
          const req = n.value;
          outstanding.push(lastLogIdOf(req));
          if (outstanding.length - head === 1) arm();
          if (!framed.send([Frame.StreamRequest, req])) await framed.drained();
        }
        if (!stopped && !framed.closed) framed.send([Frame.StreamEnd]);
      } catch (err) {
        results.fail(err);
        framed.close(undefined);
      }
    };
    void pump();
    try {
      for await (const r of results) yield r;
    } finally {
      stopped = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#others.delete(framed);
      framed.close(undefined);
      it.return?.().catch(() => {});
    }
  }

  *backoff(): Iterable<number> {
    for (let d = 50; ; d = Math.min(2_000, d * 2)) yield d;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unary.close();
    this.#bulk.close();
    for (const framed of [...this.#others]) framed.close(new NetworkError('client closed'));
    this.#onClose();
  }
}
