/**
 * Owns the client side: `RaftNetworkFactory` and the per-target `RaftNetwork` over three channels
 * (unary, entries, snapshot), the pipelined `streamAppend` on a bidirectional call, the chunked
 * snapshot on a client stream, and the mapping of gRPC statuses to Flotilla RPC errors. It never
 * retries a call that may have reached the handler.
 */

import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  AsyncQueue,
  compareLogId,
  type Logger,
  type LogId,
  NetworkError,
  type Node,
  type NodeId,
  parseHostPort,
  type RaftNetwork,
  type RaftNetworkFactory,
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
import {
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  credentials,
  Metadata,
  type MethodDefinition,
  type ServiceError,
  status as Status,
} from '@grpc/grpc-js';
import { secretBytes } from './auth.ts';
import { isNoSession, PeerChannel } from './channel.ts';
import { StreamDecoder, StreamEncoder } from './codec.ts';
import { abortReason, withDeadline } from './deadline.ts';
import { type CallStatus, type ChannelKind, DEFAULT_MAX_MESSAGE_BYTES, errorFromStatus } from './protocol.ts';
import { raftService, SnapshotPart } from './service.ts';

/** TLS material of the client: PEM buffers. */
export interface GrpcClientTls {
  /** CA certificates the server's certificate must chain to. */
  ca: Buffer;
  /** The client's private key (mutual TLS). */
  key?: Buffer;
  /** The client's certificate chain (mutual TLS). */
  cert?: Buffer;
  /** The name the server's certificate must carry, when it is not the address's host. */
  serverName?: string;
}

/** Options of {@link grpcNetwork}. */
export interface GrpcNetworkInit {
  /** The cluster this node belongs to; servers of another cluster refuse the handshake. */
  clusterId: string;
  /** This node's id, sent in every handshake. */
  nodeId: NodeId;
  /** A shared secret: both sides prove they know it (HMAC challenge–response) on every connection. */
  secret?: string | Uint8Array;
  /** TLS (`ca`, and `key` + `cert` for mutual authentication). Without it, plain HTTP/2 (h2c). */
  tls?: GrpcClientTls;
  /** The largest message sent or accepted, in bytes (default 16 MiB). */
  maxMessageBytes?: number;
  /** Bounds connecting plus the handshake, in ms (default 3000); past it, `UnreachableError`. */
  connectTimeoutMs?: number;
  /** grpc-js reconnect back-off of each channel: first and largest delay in ms (default 10 / 500). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** HTTP/2 keepalive pings: interval and ack timeout in ms (default 10000 / 5000). */
  keepalive?: { timeMs?: number; timeoutMs?: number };
  /** Snapshot chunk size in bytes when the call gives none (default 256 KiB). */
  snapshotChunkBytes?: number;
  /**
   * Maps a node to a gRPC target; the default is `node.addr`, which must then be `host:port` or
   * `[v6]:port` (`parseHostPort` of `@flotilla/types`). Give a mapping of your own for other gRPC
   * target forms (`dns:///name:port`, `unix:/path`): `validateAddress` then accepts every address,
   * what an address means being yours to check.
   */
  resolve?: (target: NodeId, node: Node) => string | undefined;
  /** Extra grpc-js channel options (applied last; the defaults above are tuned for Raft). */
  channelOptions?: ChannelOptions;
  /** Where connection events are reported. */
  logger?: Logger;
}

/** A {@link @flotilla/types#RaftNetworkFactory} whose clients speak gRPC, plus `close()` for all of them. */
export interface GrpcNetworkFactory extends RaftNetworkFactory {
  /** A client to `target`; connects lazily, on first use. */
  newClient(target: NodeId, node: Node): GrpcNetworkClient;
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
export interface GrpcNetworkClient extends RaftNetwork {
  /** Pipelined AppendEntries on a bidirectional call; see `RaftNetwork.streamAppend`. */
  streamAppend(
    input: AsyncIterable<AppendEntriesRequest>,
    opts?: StreamAppendOptions,
  ): AsyncIterable<StreamAppendResult>;
  /** Asks the target to take over leadership. */
  transferLeader(req: TransferLeaderRequest, opts?: RpcOptions): Promise<void>;
  /** Exponential delays (50 ms doubling to 2 s) for the runtime to wait between attempts. */
  backoff(): Iterable<number>;
  /** Closes every channel; pending calls reject with `NetworkError`, open streams fail. */
  close(): Promise<void>;
}

/**
 * Makes the client side of the gRPC transport.
 *
 * @example
 * ```ts
 * const network = grpcNetwork({ clusterId: 'prod', nodeId: 'a', secret: process.env.RAFT_SECRET });
 * const b = network.newClient('b', { addr: '10.0.0.2:7000' });
 * const res = await b.vote(req, { timeoutMs: 200 });
 * ```
 */
export function grpcNetwork(init: GrpcNetworkInit): GrpcNetworkFactory {
  const secret = secretBytes(init.secret);
  const creds =
    init.tls === undefined
      ? credentials.createInsecure()
      : credentials.createSsl(init.tls.ca, init.tls.key ?? null, init.tls.cert ?? null);
  const clients = new Set<GrpcClient>();
  return {
    newClient(target: NodeId, node: Node): GrpcNetworkClient {
      const c = new GrpcClient(init, secret, creds, target, node, () => clients.delete(c));
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

/**
 * Whether a stream reply acknowledges up to a log id: the client tracks that for its idle timer. The
 * reply itself is handed on as it came; the runtime checks its content.
 */
function isMatchedReply(x: unknown): x is { type: 'matched'; matching: LogId | null } {
  return typeof x === 'object' && x !== null && (x as { type?: unknown }).type === 'matched';
}

/** Resolves when `call` can take more writes, or has ended. */
function drained(call: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('status', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('status', done);
    call.on('close', done);
  });
}

class GrpcClient implements GrpcNetworkClient {
  readonly target: NodeId;
  readonly #init: GrpcNetworkInit;
  readonly #secret: Uint8Array | undefined;
  readonly #creds: ChannelCredentials;
  readonly #node: Node;
  readonly #log: Logger;
  readonly #max: number;
  readonly #channels = new Map<ChannelKind, PeerChannel>();
  readonly #onClose: () => void;
  #closed = false;

  constructor(
    init: GrpcNetworkInit,
    secret: Uint8Array | undefined,
    creds: ChannelCredentials,
    target: NodeId,
    node: Node,
    onClose: () => void,
  ) {
    this.#init = init;
    this.#secret = secret;
    this.#creds = creds;
    this.target = target;
    this.#node = node;
    this.#log = init.logger ?? silentLogger;
    this.#max = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#onClose = onClose;
  }

  /** The gRPC target to connect to, or `UnreachableError` saying why there is none. */
  #address(): string {
    if (this.#init.resolve !== undefined) {
      const address = this.#init.resolve(this.target, this.#node);
      if (address === undefined || address === '')
        throw new UnreachableError(`node ${this.target} has no usable address`);
      return address;
    }
    const r = parseHostPort(this.#node.addr);
    if (!r.ok) throw new UnreachableError(`node ${this.target} has no usable address: ${r.reason}`);
    return this.#node.addr;
  }

  /** The channel of `kind`, made on first use. */
  #channel(kind: ChannelKind): PeerChannel {
    if (this.#closed) throw new NetworkError('client closed');
    let ch = this.#channels.get(kind);
    if (ch !== undefined) return ch;
    const address = this.#address();
    const i = this.#init;
    const options: ChannelOptions = {
      // Each kind gets its own connection: heartbeats never queue behind entries or snapshots.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_send_message_length': this.#max,
      'grpc.max_receive_message_length': this.#max,
      // Raft retries at its own level; a transparent retry would also buffer every streamed request.
      'grpc.enable_retries': 0,
      'grpc.keepalive_time_ms': i.keepalive?.timeMs ?? 10_000,
      'grpc.keepalive_timeout_ms': i.keepalive?.timeoutMs ?? 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': i.reconnect?.initialMs ?? 10,
      'grpc.max_reconnect_backoff_ms': i.reconnect?.maxMs ?? 500,
      'grpc.primary_user_agent': 'flotilla-transport-grpc',
      ...(i.tls?.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': i.tls.serverName }),
      ...i.channelOptions,
    };
    ch = new PeerChannel(address, this.#creds, options, {
      clusterId: i.clusterId,
      from: i.nodeId,
      to: this.target,
      kind,
      secret: this.#secret,
      connectTimeoutMs: i.connectTimeoutMs ?? 3_000,
      logger: this.#log,
    });
    this.#channels.set(kind, ch);
    return ch;
  }

  /**
   * One unary call on the channel of `kind`, after its handshake. A call refused for want of a
   * session (the connection changed under the handshake) never reached the handler: it is retried
   * once after a new handshake.
   */
  #unary(
    kind: ChannelKind,
    method: MethodDefinition<unknown, unknown>,
    req: unknown,
    opts: RpcOptions | undefined,
  ): Promise<unknown> {
    const what = `${method.originalName ?? method.path} to ${this.target}`;
    return withDeadline(opts, what, async (onSettle) => {
      for (let attempt = 0; ; attempt++) {
        const ch = this.#channel(kind);
        await ch.ready();
        try {
          return await new Promise<unknown>((resolve, reject) => {
            const call = ch.client.makeUnaryRequest(
              method.path,
              method.requestSerialize,
              method.responseDeserialize,
              req,
              new Metadata(),
              {},
              (err: ServiceError | null, res?: unknown) => (err === null ? resolve(res) : reject(err)),
            );
            onSettle(() => call.cancel());
          });
        } catch (err) {
          if (isNoSession(err) && attempt === 0) {
            ch.invalidate();
            continue;
          }
          const s = err as ServiceError;
          if (s.code === Status.UNAVAILABLE) ch.invalidate();
          throw errorFromStatus(s, what, true);
        }
      }
    });
  }

  async appendEntries(req: AppendEntriesRequest, opts?: RpcOptions): Promise<AppendEntriesResponse> {
    // Content is the receiver's to validate: a malformed request travels as sent (on the unary channel).
    const kind = entriesOf(req).length === 0 ? 'unary' : 'entries';
    // The answer's content is the runtime's to check, like a request's.
    return (await this.#unary(kind, raftService.appendEntries, req, opts)) as AppendEntriesResponse;
  }

  async vote(req: VoteRequest, opts?: RpcOptions): Promise<VoteResponse> {
    return (await this.#unary('unary', raftService.vote, req, opts)) as VoteResponse;
  }

  async transferLeader(req: TransferLeaderRequest, opts?: RpcOptions): Promise<void> {
    await this.#unary('unary', raftService.transferLeader, req, opts);
  }

  fullSnapshot(vote: Vote, snapshot: Snapshot, opts?: SnapshotOptions): Promise<SnapshotResponse> {
    const chunkBytes = Math.max(1, opts?.chunkBytes ?? this.#init.snapshotChunkBytes ?? 256 * 1024);
    const what = `snapshot to ${this.target}`;
    return withDeadline(opts, what, async (onSettle) => {
      const ch = this.#channel('snapshot');
      await ch.ready();
      const m = raftService.installSnapshot;
      let ended = false;
      const answer = new Promise<unknown>((resolve, reject) => {
        const call = ch.client.makeClientStreamRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          new Metadata(),
          {},
          (err: ServiceError | null, res?: unknown) => {
            ended = true;
            if (err === null) return resolve(res);
            if (err.code === Status.UNAVAILABLE) ch.invalidate();
            reject(errorFromStatus(err, what, true));
          },
        );
        call.on('error', () => {});
        onSettle(() => call.cancel());
        void (async () => {
          call.write([SnapshotPart.Head, vote, snapshot.meta]);
          for await (const chunk of snapshot.data) {
            for (let at = 0; at < chunk.byteLength; at += chunkBytes) {
              if (ended) return;
              if (!call.write([SnapshotPart.Chunk, chunk.subarray(at, at + chunkBytes)])) await drained(call);
            }
          }
          call.end();
        })().catch((err: unknown) => {
          reject(err);
          call.cancel();
        });
      });
      return (await answer) as SnapshotResponse;
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
    if (signal?.aborted === true) throw abortReason(signal);
    const ch = this.#channel('entries');
    await withDeadline(signal === undefined ? undefined : { signal }, 'stream session', () => ch.ready());
    const what = `stream to ${this.target}`;
    const m = raftService.streamAppend;
    const call: ClientDuplexStream<Buffer, Buffer> = ch.client.makeBidiStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      new Metadata(),
      {},
    );
    const encoder = new StreamEncoder(this.#max);
    const decoder = new StreamDecoder();
    const results = new AsyncQueue<StreamAppendResult>();
    // Last log id of each request sent and not yet covered by a `matched` watermark.
    const outstanding: (LogId | null)[] = [];
    let head = 0;
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = opts?.timeoutMs;
    const fail = (err: unknown) => {
      results.fail(err);
      call.cancel();
    };
    // The timeout is an idle timer: armed only while requests are outstanding, reset by each reply.
    const arm = () => {
      clearTimeout(timer);
      timer = undefined;
      if (timeoutMs === undefined || head >= outstanding.length) return;
      timer = setTimeout(
        () => fail(new RpcTimeoutError(`${what}: no reply within ${timeoutMs} ms`)),
        timeoutMs,
      );
    };
    call.on('error', () => {}); // the status event reports it
    call.on('data', (b: Buffer) => {
      let r: unknown;
      try {
        r = decoder.decode(b);
      } catch (err) {
        return fail(err);
      }
      if (isMatchedReply(r)) {
        while (head < outstanding.length && compareLogId(outstanding[head]!, r.matching) <= 0) head++;
        if (head > 1024 && head * 2 > outstanding.length) {
          outstanding.splice(0, head);
          head = 0;
        }
      }
      results.push(r as StreamAppendResult);
      arm();
    });
    call.on('status', (s: CallStatus) => {
      clearTimeout(timer);
      if (s.code === Status.OK) return results.end();
      if (s.code === Status.UNAVAILABLE || isNoSession(s)) ch.invalidate();
      results.fail(errorFromStatus(s, what, true));
    });
    const onAbort = () => fail(abortReason(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const it = input[Symbol.asyncIterator]();
    let stopped = false;
    const pump = async () => {
      try {
        while (!stopped) {
          const n = await it.next();
          if (n.done === true || stopped) break;
          const req = n.value;
          const bytes = encoder.encode(req); // throws FrameError over the cap: the stream fails
          outstanding.push(lastLogIdOf(req));
          if (outstanding.length - head === 1) arm();
          if (!call.write(bytes)) await drained(call);
        }
        if (!stopped) call.end();
      } catch (err) {
        fail(err);
      }
    };
    void pump();
    try {
      for await (const r of results) yield r;
    } finally {
      stopped = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
      it.return?.().catch(() => {});
    }
  }

  *backoff(): Iterable<number> {
    for (let d = 50; ; d = Math.min(2_000, d * 2)) yield d;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const ch of this.#channels.values()) ch.close();
    this.#channels.clear();
    this.#onClose();
  }
}

/** A request's entries, or none when it is malformed (the receiver refuses it, not the sender). */
function entriesOf(req: AppendEntriesRequest): readonly unknown[] {
  const r = req as Partial<AppendEntriesRequest> | null;
  return r !== null && typeof r === 'object' && Array.isArray(r.entries) ? r.entries : [];
}

/** The last log id an AppendEntries covers (`null` when it is malformed). */
function lastLogIdOf(req: AppendEntriesRequest): LogId | null {
  const entries = entriesOf(req) as AppendEntriesRequest['entries'];
  return (
    entries[entries.length - 1]?.logId ?? (req as Partial<AppendEntriesRequest> | null)?.prevLogId ?? null
  );
}
