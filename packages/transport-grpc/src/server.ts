/**
 * Owns the server side: a grpc-js `Server` fed through a connection injector with sockets this module
 * accepts (or that an app hands over from a shared port), the handshake that binds an authenticated
 * session to each connection, and the adapter from the Raft service's calls to a `RaftRpcHandler`.
 * It checks framing (msgpack that decodes, messages in the expected order), size (grpc-js's receive
 * cap) and authentication only; it never validates message content — the receiving node does that,
 * once.
 */
import net, { type AddressInfo } from 'node:net';
import {
  type AppendEntriesRequest,
  AsyncQueue,
  type Logger,
  NetworkError,
  type NodeId,
  type RaftRpcHandler,
  type SnapshotMeta,
  silentLogger,
  type Vote,
} from '@flotilla/types';
import {
  Server as GrpcJsServer,
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleUnaryCall,
  Metadata,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerErrorResponse,
  type ServerReadableStream,
  status as Status,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { newNonce, proof, proofMatches, secretBytes } from './auth.ts';
import { plainBytes, plainEntryBytes, StreamDecoder, StreamEncoder } from './codec.ts';
import {
  CHANNEL_KINDS,
  type ChannelKind,
  DEFAULT_MAX_MESSAGE_BYTES,
  HANDSHAKE_REASON_KEY,
  type HandshakeFailure,
  NO_SESSION,
  PROTOCOL_VERSION,
  REMOTE_CODE_KEY,
} from './protocol.ts';
import { HandshakeStep, raftService, SnapshotPart } from './service.ts';

/** TLS material of the server: PEM buffers. */
export interface GrpcServerTls {
  /** The server's private key. */
  key: Buffer;
  /** The server's certificate chain. */
  cert: Buffer;
  /** CA certificates that sign client certificates (needed for mutual TLS). */
  ca?: Buffer;
  /** Refuse clients without a certificate signed by `ca` (mutual TLS). Default `true`. */
  requireClientCert?: boolean;
}

/** Options of {@link grpcServer}. */
export interface GrpcServerInit {
  /** The node that serves the calls (a `Raft` instance, or any `RaftRpcHandler`). */
  handler: RaftRpcHandler;
  /** Peers of another cluster are refused at the handshake. */
  clusterId: string;
  /** This node's id; when set, a handshake addressed to another node is refused. */
  nodeId?: NodeId;
  /** A shared secret: when set, every peer must prove it knows it (and the server proves it too). */
  secret?: string | Uint8Array;
  /** TLS (mutual by default). Without it, plain HTTP/2 (h2c). */
  tls?: GrpcServerTls;
  /** The largest message received or sent, in bytes (default 16 MiB). */
  maxMessageBytes?: number;
  /** A connection without a completed handshake after this long is closed (default 5000). */
  handshakeTimeoutMs?: number;
  /** Connections beyond this many are closed at once (default 4096). */
  maxConnections?: number;
  /** Stream requests read ahead of the handler before the call stops being read (default 64). */
  streamReadAhead?: number;
  /** Concurrent calls per connection (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`, default 256). */
  maxConcurrentStreams?: number;
  /** HTTP/2 keepalive pings to clients: interval and ack timeout in ms (default 10000 / 5000). */
  keepalive?: { timeMs?: number; timeoutMs?: number };
  /** Where connection events and refused peers are reported. */
  logger?: Logger;
}

/** The server side of the gRPC transport. */
export interface GrpcServer {
  /**
   * Listens on `port` (0: an ephemeral port) and `host` (default all interfaces); resolves with the
   * bound address. TLS when the server was made with `tls`.
   */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /**
   * Serves a TCP socket accepted elsewhere, e.g. by an app sharing one port between HTTP/1 and gRPC
   * (see `looksLikeHttp2`). `firstBytes` are the bytes already read from it while sniffing; they are
   * put back first. With `tls`, pass the raw TCP socket: the server runs TLS on it itself.
   */
  serveConnection(socket: net.Socket, firstBytes?: Uint8Array): void;
  /** The bound address while listening, else `null`. */
  address(): AddressInfo | null;
  /** Open connections (handed-over ones included). */
  readonly connections: number;
  /** Stops listening and closes every connection; in-flight calls fail. */
  close(): Promise<void>;
}

/** Makes a gRPC transport server. Nothing is bound until `listen`. */
export function grpcServer(init: GrpcServerInit): GrpcServer {
  return new Server(init);
}

/** One accepted connection, and the session its handshake bound to it. */
interface Conn {
  socket: net.Socket;
  timer: NodeJS.Timeout | undefined;
  session: { from: string; kind: ChannelKind } | undefined;
}

function errorCodeOf(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const c = (err as { code?: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return '';
}

function errorMessageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The status of a handler error: its Flotilla code travels in the trailers. */
function remoteStatus(err: unknown): ServerErrorResponse {
  const metadata = new Metadata();
  metadata.set(REMOTE_CODE_KEY, errorCodeOf(err));
  const details = errorMessageOf(err);
  return Object.assign(new Error(details), { code: Status.UNKNOWN, details, metadata });
}

function status(code: Status, details: string, metadata?: Metadata): ServerErrorResponse {
  return Object.assign(new Error(details), { code, details, ...(metadata ? { metadata } : {}) });
}

/** grpc-js's `getPeer()` of a call on `socket` (`address:port`). */
function peerOf(socket: net.Socket): string | undefined {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress === undefined || remotePort === undefined
    ? undefined
    : `${remoteAddress}:${remotePort}`;
}

function waitDrain(call: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
}

class Server implements GrpcServer {
  readonly #init: GrpcServerInit;
  readonly #secret: Uint8Array | undefined;
  readonly #log: Logger;
  readonly #grpc: GrpcJsServer;
  readonly #injector: ReturnType<GrpcJsServer['createConnectionInjector']>;
  /** Live connections by grpc-js peer string, so a call finds the session of its connection. */
  readonly #conns = new Map<string, Conn>();
  #listener: net.Server | undefined;
  #closed = false;

  constructor(init: GrpcServerInit) {
    this.#init = init;
    this.#secret = secretBytes(init.secret);
    this.#log = init.logger ?? silentLogger;
    const max = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#grpc = new GrpcJsServer({
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      'grpc.max_concurrent_streams': init.maxConcurrentStreams ?? 256,
      'grpc.keepalive_time_ms': init.keepalive?.timeMs ?? 10_000,
      'grpc.keepalive_timeout_ms': init.keepalive?.timeoutMs ?? 5_000,
    });
    this.#grpc.addService(raftService, this.#implementation());
    const tls = init.tls;
    const creds =
      tls === undefined
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(
            tls.ca ?? null,
            [{ private_key: tls.key, cert_chain: tls.cert }],
            tls.requireClientCert ?? true,
          );
    this.#injector = this.#grpc.createConnectionInjector(creds);
  }

  get connections(): number {
    return this.#conns.size;
  }

  address(): AddressInfo | null {
    const a = this.#listener?.address();
    return a !== null && typeof a === 'object' ? a : null;
  }

  listen(port = 0, host?: string): Promise<AddressInfo> {
    if (this.#closed) return Promise.reject(new NetworkError('server is closed'));
    if (this.#listener !== undefined) return Promise.reject(new NetworkError('server is already listening'));
    const listener = net.createServer((s) => this.serveConnection(s));
    this.#listener = listener;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new NetworkError(`cannot listen: ${err.message}`, { cause: err }));
      listener.once('error', onError);
      listener.listen({ port, host }, () => {
        listener.off('error', onError);
        listener.on('error', (err) => this.#log.warn('server error', { error: err.message }));
        resolve(this.address()!);
      });
    });
  }

  serveConnection(socket: net.Socket, firstBytes?: Uint8Array): void {
    const limit = this.#init.maxConnections ?? 4096;
    const peer = peerOf(socket);
    if (this.#closed || this.#conns.size >= limit || peer === undefined || this.#conns.has(peer)) {
      if (!this.#closed) this.#log.warn('refusing a connection', { peer, limit, open: this.#conns.size });
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const conn: Conn = { socket, timer: undefined, session: undefined };
    conn.timer = setTimeout(() => {
      this.#log.warn('handshake timeout', { peer });
      socket.destroy();
    }, this.#init.handshakeTimeoutMs ?? 5_000);
    conn.timer.unref();
    this.#conns.set(peer, conn);
    socket.once('close', () => {
      clearTimeout(conn.timer);
      if (this.#conns.get(peer) === conn) this.#conns.delete(peer);
      this.#log.debug('connection closed', { peer, from: conn.session?.from });
    });
    socket.on('error', () => {}); // grpc-js reports session errors; a reset socket must not throw
    if (firstBytes !== undefined && firstBytes.byteLength > 0)
      socket.unshift(Buffer.from(firstBytes.buffer, firstBytes.byteOffset, firstBytes.byteLength));
    this.#injector.injectConnection(socket);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const listener = this.#listener;
    const done =
      listener === undefined ? Promise.resolve() : new Promise<void>((r) => listener.close(() => r()));
    for (const c of [...this.#conns.values()]) c.socket.destroy();
    this.#injector.destroy();
    this.#grpc.forceShutdown();
    await done;
  }

  /** The connection of an authenticated call, or `undefined` (then the call was refused). */
  #authorized(call: { getPeer(): string }, refuse: (e: ServerErrorResponse) => void): Conn | undefined {
    const conn = this.#conns.get(call.getPeer());
    if (conn?.session !== undefined) return conn;
    this.#log.warn('call refused: no handshake on its connection', { peer: call.getPeer() });
    refuse(status(Status.UNAUTHENTICATED, NO_SESSION));
    return undefined;
  }

  #implementation(): UntypedServiceImplementation {
    const h = this.#init.handler;
    const unary =
      (serve: (req: unknown) => Promise<unknown>): handleUnaryCall<unknown, unknown> =>
      (call, callback) => {
        if (this.#authorized(call, (e) => callback(e)) === undefined) return;
        serve(call.request).then(
          (res) => callback(null, res),
          (err: unknown) => callback(remoteStatus(err)),
        );
      };
    const handshake: handleBidiStreamingCall<unknown, unknown> = (call) => this.#handshake(call);
    const streamAppend: handleBidiStreamingCall<Buffer, Buffer> = (call) => this.#streamAppend(call);
    const installSnapshot: handleClientStreamingCall<unknown, unknown> = (call, callback) =>
      this.#installSnapshot(call, callback);
    return {
      handshake,
      appendEntries: unary((req) => h.appendEntries(plainEntryBytes(req as AppendEntriesRequest))),
      vote: unary((req) => h.vote(req as Parameters<RaftRpcHandler['vote']>[0])),
      transferLeader: unary(async (req) => {
        await h.transferLeader(req as Parameters<RaftRpcHandler['transferLeader']>[0]);
        return true; // grpc-js sends no message for a null response
      }),
      streamAppend,
      installSnapshot,
    };
  }

  // ------------------------------------------------------------------ handshake

  #handshake(call: ServerDuplexStream<unknown, unknown>): void {
    const peer = call.getPeer();
    const fields: Record<string, unknown> = { peer };
    let state: 'hello' | 'auth' | 'done' = 'hello';
    let ctx:
      | { clusterId: string; from: string; to: string; kind: ChannelKind; clientNonce: Uint8Array }
      | undefined;
    let serverNonce: Uint8Array | undefined;
    call.on('error', () => {});
    const refuse = (reason: HandshakeFailure, message: string) => {
      state = 'done';
      this.#log.warn(`handshake refused (${reason}): ${message}`, fields);
      const md = new Metadata();
      md.set(HANDSHAKE_REASON_KEY, reason);
      const code = reason === 'auth' ? Status.UNAUTHENTICATED : Status.FAILED_PRECONDITION;
      call.emit('error', status(code, message, md));
    };
    const bind = (from: string, kind: ChannelKind) => {
      const conn = this.#conns.get(peer);
      if (conn === undefined) return refuse('protocol', 'the connection is not known to this server');
      clearTimeout(conn.timer);
      conn.session = { from, kind };
      state = 'done';
      this.#log.debug('session ready', fields);
      call.write([HandshakeStep.Ready]);
      call.end();
    };
    call.on('data', (m: unknown) => {
      if (state === 'done') return;
      if (!Array.isArray(m)) return refuse('protocol', 'a handshake message must be an array');
      if (state === 'hello') {
        const [tag, version, clusterId, from, to, kind, nonce] = m;
        if (
          tag !== HandshakeStep.Hello ||
          typeof version !== 'number' ||
          typeof clusterId !== 'string' ||
          typeof from !== 'string' ||
          typeof to !== 'string' ||
          !CHANNEL_KINDS.includes(kind as ChannelKind) ||
          !(nonce === null || nonce instanceof Uint8Array)
        )
          return refuse('protocol', 'expected a hello');
        Object.assign(fields, { from, kind });
        if (version !== PROTOCOL_VERSION)
          return refuse('version', `protocol version ${version} is not ${PROTOCOL_VERSION}`);
        if (clusterId !== this.#init.clusterId)
          return refuse('cluster', `cluster "${clusterId}" is not "${this.#init.clusterId}"`);
        if (this.#init.nodeId !== undefined && to !== this.#init.nodeId)
          return refuse('target', `this is node "${this.#init.nodeId}", not "${to}"`);
        if (this.#secret !== undefined && nonce === null)
          return refuse('auth', 'a shared secret is required');
        if (this.#secret === undefined && nonce !== null)
          return refuse('auth', 'this server has no shared secret configured');
        if (this.#secret === undefined || nonce === null) {
          call.write([HandshakeStep.Welcome, PROTOCOL_VERSION, null, null]);
          return bind(from, kind as ChannelKind);
        }
        ctx = { clusterId, from, to, kind: kind as ChannelKind, clientNonce: plainBytes(nonce) };
        serverNonce = newNonce();
        const p = proof(this.#secret, 'server', { ...ctx, serverNonce });
        call.write([HandshakeStep.Welcome, PROTOCOL_VERSION, serverNonce, p]);
        state = 'auth';
        return;
      }
      // state === 'auth'
      if (m[0] !== HandshakeStep.Auth) return refuse('protocol', 'expected an auth message');
      const expected = proof(this.#secret!, 'client', { ...ctx!, serverNonce: serverNonce! });
      if (!proofMatches(expected, m[1])) return refuse('auth', 'wrong shared-secret proof');
      bind(ctx!.from, ctx!.kind);
    });
    call.on('end', () => {
      if (state !== 'done') refuse('protocol', 'the handshake ended early');
    });
  }

  // ------------------------------------------------------------------ streamAppend

  #streamAppend(call: ServerDuplexStream<Buffer, Buffer>): void {
    call.on('error', () => {});
    if (this.#authorized(call, (e) => call.emit('error', e)) === undefined) return;
    const peer = call.getPeer();
    const readAhead = this.#init.streamReadAhead ?? 64;
    const decoder = new StreamDecoder();
    const encoder = new StreamEncoder(this.#init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    const input = new AsyncQueue<AppendEntriesRequest>();
    const abort = new AbortController();
    let done = false;
    const finish = (err: ServerErrorResponse | undefined) => {
      if (done) return;
      done = true;
      const gone = new NetworkError('stream closed', { cause: err });
      abort.abort(gone);
      input.fail(gone);
      if (err === undefined) call.end();
      else call.emit('error', err);
    };
    input.onPull = () => {
      if (input.size <= readAhead >> 1 && call.isPaused()) call.resume();
    };
    call.on('data', (b: Buffer) => {
      if (done) return;
      let req: AppendEntriesRequest;
      try {
        req = plainEntryBytes(decoder.decode(b) as AppendEntriesRequest);
      } catch (err) {
        this.#log.warn('undecodable stream message', { peer, error: errorMessageOf(err) });
        return finish(status(Status.INVALID_ARGUMENT, errorMessageOf(err)));
      }
      input.push(req);
      if (input.size >= readAhead) call.pause();
    });
    call.on('end', () => input.end());
    call.on('cancelled', () => {
      if (done) return;
      done = true;
      const gone = new NetworkError('stream cancelled by the client');
      abort.abort(gone);
      input.fail(gone);
    });
    void (async () => {
      try {
        for await (const r of this.#init.handler.streamAppend(input, { signal: abort.signal })) {
          if (done) return;
          let bytes: Buffer;
          try {
            bytes = encoder.encode(r);
          } catch (err) {
            return finish(status(Status.RESOURCE_EXHAUSTED, errorMessageOf(err)));
          }
          if (!call.write(bytes)) await waitDrain(call);
        }
        finish(undefined);
      } catch (err) {
        finish(remoteStatus(err));
      }
    })();
  }

  // ------------------------------------------------------------------ snapshot

  #installSnapshot(call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>): void {
    call.on('error', () => {});
    let answered = false;
    const answer = (err: ServerErrorResponse | null, res?: unknown) => {
      if (answered) return;
      answered = true;
      if (err !== null) callback(err);
      else callback(null, res);
    };
    if (this.#authorized(call, (e) => answer(e)) === undefined) return;
    const peer = call.getPeer();
    const chunks = new AsyncQueue<Uint8Array>();
    let started = false;
    const refuse = (message: string) => {
      this.#log.warn(`bad snapshot message: ${message}`, { peer });
      chunks.fail(new NetworkError(message));
      answer(status(Status.INVALID_ARGUMENT, message));
    };
    chunks.onPull = () => {
      if (chunks.size <= 2 && call.isPaused()) call.resume();
    };
    call.on('data', (m: unknown) => {
      if (answered) return;
      if (!started) {
        if (!Array.isArray(m) || m[0] !== SnapshotPart.Head) return refuse('expected a snapshot head');
        started = true;
        this.#init.handler.installFullSnapshot(m[1] as Vote, m[2] as SnapshotMeta, chunks).then(
          (res) => answer(null, res),
          (err: unknown) => answer(remoteStatus(err)),
        );
        return;
      }
      if (!Array.isArray(m) || m[0] !== SnapshotPart.Chunk || !(m[1] instanceof Uint8Array))
        return refuse('expected a snapshot chunk');
      chunks.push(plainBytes(m[1]));
      if (chunks.size >= 8) call.pause();
    });
    call.on('end', () => {
      if (!started) refuse('the snapshot has no head');
      else chunks.end();
    });
    call.on('cancelled', () => chunks.fail(new NetworkError('snapshot cancelled by the client')));
  }
}
