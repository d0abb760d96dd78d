import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import {
  type AppendEntriesRequest,
  AsyncQueue,
  InvalidRequestError,
  type Logger,
  NetworkError,
  type NodeId,
  type RaftRpcHandler,
  type SnapshotMeta,
  type SnapshotResponse,
  type StreamAppendResult,
  silentLogger,
  type TransferLeaderRequest,
  type Vote,
  type VoteRequest,
} from '@flotilla/types';
import { newNonce, proof, proofMatches, secretBytes } from './auth.ts';
import { FramedSocket, plainBytes, plainEntryBytes } from './framing.ts';
import {
  CONNECTION_KINDS,
  type ConnectionKind,
  DEFAULT_MAX_FRAME_BYTES,
  Frame,
  type HandshakeFailure,
  PROTOCOL_VERSION,
} from './protocol.ts';

/** Options of {@link tcpServer}. */
export interface TcpServerInit {
  /** The node that serves the calls (a `Raft` instance, or any `RaftRpcHandler`). */
  handler: RaftRpcHandler;
  /** Peers of another cluster are refused. */
  clusterId: string;
  /** This node's id; when set, a hello addressed to another node is refused. */
  nodeId?: NodeId;
  /** A shared secret: when set, every peer must prove it knows it (and the server proves it too). */
  secret?: string | Uint8Array;
  /**
   * TLS options for {@link TcpServer.listen} (`key`, `cert`, `ca`; set `requestCert: true` for mutual
   * authentication; `rejectUnauthorized` defaults to true in Node).
   */
  tls?: tls.TlsOptions;
  /** The largest frame body accepted, in bytes (default 16 MiB). */
  maxFrameBytes?: number;
  /** A connection that has not completed its handshake after this long is closed (default 5000). */
  handshakeTimeoutMs?: number;
  /** Connections beyond this many are closed at once (default 4096). */
  maxConnections?: number;
  /** Stream requests read ahead of the handler before the socket stops being read (default 64). */
  streamReadAhead?: number;
  /** Unary calls served concurrently per connection before the socket stops being read (default 256). */
  maxUnaryInflight?: number;
  /** Where connection events and rejected peers are reported. */
  logger?: Logger;
}

/** The server side of the TCP transport: accepts peers and dispatches their calls to a handler. */
export interface TcpServer {
  /**
   * Listens on `port` (0: an ephemeral port) and `host` (default all interfaces); resolves with the
   * bound address. Uses TLS when the server was made with `tls` options.
   */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /**
   * Serves a socket accepted elsewhere (e.g. by an HTTP server sharing the port). `firstBytes` are the
   * bytes already read from it while sniffing (see `looksLikeRaft`); they are processed first. With TLS,
   * pass the established `TLSSocket` (the server does not wrap adopted sockets).
   */
  adopt(socket: Duplex, firstBytes?: Uint8Array): void;
  /** The bound address while listening, else `null`. */
  address(): AddressInfo | null;
  /** Open connections (adopted ones included). */
  readonly connections: number;
  /** Stops listening and closes every connection; in-flight handler calls see their streams fail. */
  close(): Promise<void>;
}

/** Makes a TCP transport server. Nothing is bound until `listen`. */
export function tcpServer(init: TcpServerInit): TcpServer {
  return new Server(init);
}

type Fields = Record<string, unknown>;

function errorCodeOf(err: unknown): string | null {
  if (err !== null && typeof err === 'object') {
    const c = (err as { code?: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return null;
}

function errorMessageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class Server implements TcpServer {
  readonly #init: TcpServerInit;
  readonly #secret: Uint8Array | undefined;
  readonly #log: Logger;
  readonly #maxFrameBytes: number;
  readonly #conns = new Set<FramedSocket>();
  #server: net.Server | undefined;
  #closed = false;

  constructor(init: TcpServerInit) {
    this.#init = init;
    this.#secret = secretBytes(init.secret);
    this.#log = init.logger ?? silentLogger;
    this.#maxFrameBytes = init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  get connections(): number {
    return this.#conns.size;
  }

  address(): AddressInfo | null {
    const a = this.#server?.address();
    return a !== null && typeof a === 'object' ? a : null;
  }

  listen(port = 0, host?: string): Promise<AddressInfo> {
    if (this.#closed) return Promise.reject(new NetworkError('server is closed'));
    if (this.#server !== undefined) return Promise.reject(new NetworkError('server is already listening'));
    const server =
      this.#init.tls !== undefined
        ? tls.createServer(this.#init.tls, (s) => this.adopt(s))
        : net.createServer((s) => this.adopt(s));
    if (this.#init.tls !== undefined) {
      server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
        this.#log.warn('TLS handshake failed', { remote: s.remoteAddress, error: err.message });
      });
    }
    this.#server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new NetworkError(`cannot listen: ${err.message}`, { cause: err }));
      server.once('error', onError);
      server.listen({ port, host }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.#log.warn('server error', { error: err.message }));
        resolve(this.address()!);
      });
    });
  }

  adopt(socket: Duplex, firstBytes?: Uint8Array): void {
    const limit = this.#init.maxConnections ?? 4096;
    if (this.#closed || this.#conns.size >= limit) {
      if (!this.#closed) this.#log.warn('too many connections; refusing one', { limit });
      socket.destroy();
      return;
    }
    if (socket instanceof net.Socket) {
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000); // so a vanished peer's half-open connection is eventually dropped
    }
    const framed = new FramedSocket(socket, this.#maxFrameBytes, true);
    this.#conns.add(framed);
    const remote = (socket as Partial<net.Socket>).remoteAddress;
    new ServerConnection(this.#init, this.#secret, this.#log, framed, { remote }, () =>
      this.#conns.delete(framed),
    );
    if (firstBytes !== undefined && firstBytes.byteLength > 0) {
      framed.feed(Buffer.from(firstBytes.buffer, firstBytes.byteOffset, firstBytes.byteLength));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const server = this.#server;
    const done =
      server === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of [...this.#conns]) c.close(new ServerClosed());
    await done;
  }
}

/** The reason of connections closed by the server's own `close()`: orderly, logged at debug only. */
class ServerClosed extends NetworkError {
  constructor() {
    super('server closed');
  }
}

/** One accepted connection: handshake, then the protocol of its kind. */
class ServerConnection {
  readonly #init: TcpServerInit;
  readonly #secret: Uint8Array | undefined;
  readonly #log: Logger;
  readonly #framed: FramedSocket;
  readonly #fields: Fields;
  readonly #abort = new AbortController();
  #state: 'hello' | 'auth' | 'ready' | 'done' = 'hello';
  #kind: ConnectionKind = 'unary';
  #hello: { clusterId: string; from: string; to: string; clientNonce: Uint8Array | null } | undefined;
  #serverNonce: Uint8Array | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #onFrameReady: (body: unknown[]) => void = () => {};
  #onClosed: (err: Error) => void = () => {};
  #unaryInflight = 0;

  constructor(
    init: TcpServerInit,
    secret: Uint8Array | undefined,
    log: Logger,
    framed: FramedSocket,
    fields: Fields,
    onGone: () => void,
  ) {
    this.#init = init;
    this.#secret = secret;
    this.#log = log;
    this.#framed = framed;
    this.#fields = fields;
    framed.onFrame = (body) => this.#onFrame(body);
    framed.onClose = (err) => {
      clearTimeout(this.#handshakeTimer);
      this.#abort.abort(new NetworkError('connection closed', { cause: err }));
      if (err !== undefined && this.#state !== 'done' && !(err instanceof ServerClosed))
        this.#log.warn(`connection closed on error: ${err.message}`, this.#fields);
      else this.#log.debug('connection closed', this.#fields);
      this.#onClosed(new NetworkError('connection closed', { cause: err }));
      onGone();
    };
    this.#handshakeTimer = setTimeout(() => {
      this.#log.warn('handshake timeout', this.#fields);
      framed.close(undefined);
    }, init.handshakeTimeoutMs ?? 5_000);
    this.#handshakeTimer.unref();
  }

  #protocolError(message: string): void {
    this.#log.warn(`protocol error: ${message}`, this.#fields);
    this.#framed.close(new NetworkError(message));
  }

  #reject(reason: HandshakeFailure, message: string): void {
    this.#log.warn(`handshake refused (${reason}): ${message}`, this.#fields);
    this.#state = 'done';
    clearTimeout(this.#handshakeTimer);
    this.#framed.finish([Frame.Reject, reason, message]);
  }

  #onFrame(body: unknown): void {
    if (!Array.isArray(body) || typeof body[0] !== 'number') {
      this.#protocolError('malformed frame');
      return;
    }
    switch (this.#state) {
      case 'hello':
        this.#onHello(body);
        return;
      case 'auth':
        this.#onAuth(body);
        return;
      case 'ready':
        this.#onFrameReady(body);
        return;
      case 'done':
        return;
    }
  }

  #onHello(b: unknown[]): void {
    const [tag, version, clusterId, from, to, kind, nonce] = b;
    if (
      tag !== Frame.Hello ||
      typeof version !== 'number' ||
      typeof clusterId !== 'string' ||
      typeof from !== 'string' ||
      typeof to !== 'string' ||
      !CONNECTION_KINDS.includes(kind as ConnectionKind) ||
      !(nonce === null || nonce instanceof Uint8Array)
    ) {
      this.#reject('protocol', 'expected a hello');
      return;
    }
    Object.assign(this.#fields, { from, kind });
    if (version !== PROTOCOL_VERSION) {
      this.#reject('version', `protocol version ${version} is not ${PROTOCOL_VERSION}`);
      return;
    }
    if (clusterId !== this.#init.clusterId) {
      this.#reject('cluster', `cluster "${clusterId}" is not "${this.#init.clusterId}"`);
      return;
    }
    if (this.#init.nodeId !== undefined && to !== this.#init.nodeId) {
      this.#reject('target', `this is node "${this.#init.nodeId}", not "${to}"`);
      return;
    }
    if (this.#secret !== undefined && nonce === null) {
      this.#reject('auth', 'a shared secret is required');
      return;
    }

    if (this.#secret === undefined && nonce !== null) {
      this.#reject('auth', 'this server has no shared secret configured');
      return;
    }
    this.#kind = kind as ConnectionKind;
    this.#hello = { clusterId, from, to, clientNonce: nonce };
    if (this.#secret !== undefined && nonce !== null) {
      const serverNonce = newNonce();
      this.#serverNonce = serverNonce;
      const ctx = { clusterId, from, to, kind: this.#kind, clientNonce: nonce, serverNonce };
      this.#framed.send([Frame.Welcome, PROTOCOL_VERSION, serverNonce, proof(this.#secret, 'server', ctx)]);
      this.#state = 'auth';
    } else {
      this.#framed.send([Frame.Welcome, PROTOCOL_VERSION, null, null]);
      this.#ready();
    }
  }

  #onAuth(b: unknown[]): void {
    const h = this.#hello!;
    if (b[0] !== Frame.Auth) {
      this.#reject('protocol', 'expected an auth frame');
      return;
    }
    const expected = proof(this.#secret!, 'client', {
      clusterId: h.clusterId,
      from: h.from,
      to: h.to,
      kind: this.#kind,
      clientNonce: h.clientNonce!,
      serverNonce: this.#serverNonce!,
    });
    if (!proofMatches(expected, b[1])) {
      this.#reject('auth', 'wrong shared-secret proof');
      return;
    }
    this.#ready();
  }

  #ready(): void {
    clearTimeout(this.#handshakeTimer);
    this.#state = 'ready';
    this.#log.debug('connection ready', this.#fields);
    switch (this.#kind) {
      case 'unary':
      case 'bulk':
        this.#onFrameReady = (b) => this.#onUnary(b);
        return;
      case 'stream':
        this.#startStream();
        return;
      case 'snapshot':
        this.#onFrameReady = (b) => this.#onSnapshotHead(b);
        return;
    }
  }

  // ------------------------------------------------------------------ unary

  #onUnary(b: unknown[]): void {
    const [tag, id, method, payload] = b;
    if (tag !== Frame.Request || typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      this.#protocolError('expected a request frame');
      return;
    }
    this.#unaryInflight++;
    if (this.#unaryInflight >= (this.#init.maxUnaryInflight ?? 256)) this.#framed.pause();
    this.#serveUnary(method, payload).then(
      (result) => this.#replyUnary([Frame.Response, id, result]),
      (err: unknown) => this.#replyUnary([Frame.Failure, id, errorCodeOf(err), errorMessageOf(err)]),
    );
  }

  #replyUnary(frame: unknown[]): void {
    this.#unaryInflight--;
    if (this.#framed.closed) return;
    this.#framed.resume();
    try {
      this.#framed.send(frame);
    } catch (err) {
      this.#log.warn('cannot send a reply', { ...this.#fields, error: errorMessageOf(err) });
    }
  }

  async #serveUnary(method: unknown, payload: unknown): Promise<unknown> {
    // The payload goes to the handler as decoded: validating it is the handler's (the runtime's) job.
    const h = this.#init.handler;
    switch (method) {
      case 'append':
        return h.appendEntries(plainEntryBytes(payload) as AppendEntriesRequest);
      case 'vote':
        return h.vote(payload as VoteRequest);
      case 'transfer':
        await h.transferLeader(payload as TransferLeaderRequest);
        return null;
      default:
        throw new InvalidRequestError('method', `unknown method ${String(method)}`);
    }
  }

  // ------------------------------------------------------------------ stream

  #startStream(): void {
    const readAhead = this.#init.streamReadAhead ?? 64;
    const input = new AsyncQueue<AppendEntriesRequest>();
    input.onPull = () => {
      if (input.size <= readAhead >> 1) this.#framed.resume();
    };
    this.#onClosed = (err) => input.fail(err);
    this.#onFrameReady = (b) => {
      if (b[0] === Frame.StreamEnd) return input.end();
      if (b[0] !== Frame.StreamRequest) return this.#protocolError('expected a stream request');
      // Delivered as decoded; the handler validates it and ends the stream if it is malformed.
      input.push(plainEntryBytes(b[1]) as AppendEntriesRequest);
      if (input.size >= readAhead) this.#framed.pause();
    };
    void this.#pumpStream(input);
  }

  async #pumpStream(input: AsyncQueue<AppendEntriesRequest>): Promise<void> {
    try {
      const out: AsyncIterable<StreamAppendResult> = this.#init.handler.streamAppend(input, {
        signal: this.#abort.signal,
      });
      for await (const r of out) {
        if (this.#framed.closed) return;
        if (!this.#framed.send([Frame.StreamResult, r])) await this.#framed.drained();
      }
      this.#state = 'done';
      this.#framed.finish([Frame.StreamFinish]);
    } catch (err) {
      if (this.#framed.closed) return;
      this.#state = 'done';
      this.#framed.finish([Frame.StreamFailure, errorCodeOf(err), errorMessageOf(err)]);
    }
  }

  // ------------------------------------------------------------------ snapshot

  #onSnapshotHead(b: unknown[]): void {
    if (b[0] !== Frame.SnapshotHead) {
      this.#protocolError('expected a snapshot header');
      return;
    }
    // The vote and meta go to the handler as decoded: it validates them before reading any chunk.
    const vote = b[1] as Vote;
    const meta = b[2] as SnapshotMeta;
    const chunks = new AsyncQueue<Uint8Array>();
    chunks.onPull = () => {
      if (chunks.size <= 2) this.#framed.resume();
    };
    this.#onClosed = (err) => chunks.fail(err);
    this.#onFrameReady = (f) => {
      if (f[0] === Frame.SnapshotEnd) return chunks.end();
      if (f[0] !== Frame.SnapshotChunk || !(f[1] instanceof Uint8Array)) {
        chunks.fail(new NetworkError('bad snapshot frame'));
        return this.#protocolError('expected a snapshot chunk');
      }
      chunks.push(plainBytes(f[1]));
      if (chunks.size >= 8) this.#framed.pause();
    };
    void this.#installSnapshot(vote, meta, chunks);
  }

  async #installSnapshot(vote: Vote, meta: SnapshotMeta, chunks: AsyncQueue<Uint8Array>): Promise<void> {
    let resp: SnapshotResponse;
    try {
      resp = await this.#init.handler.installFullSnapshot(vote, meta, chunks);
    } catch (err) {
      if (this.#framed.closed) return;
      this.#state = 'done';
      this.#framed.finish([Frame.SnapshotFailure, errorCodeOf(err), errorMessageOf(err)]);
      return;
    }
    this.#state = 'done';
    this.#framed.finish([Frame.SnapshotDone, resp]);
  }
}
