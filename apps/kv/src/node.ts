import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import {
  type Logger,
  Raft,
  type RaftApi,
  type RaftConfigInput,
  type ReadPolicy,
  silentLogger,
} from '@flotilla/raft';
import { type FileIO, type FileLogStore, fileLogStore } from '@flotilla/storage-file';
import { grpcNetwork, grpcServer, HTTP2_PREFACE, sniffHttp2 } from '@flotilla/transport-grpc';
import { looksLikeRaft, RAFT_MAGIC, tcpNetwork, tcpServer } from '@flotilla/transport-tcp';
import {
  InvalidConfigError,
  type NodeId,
  type RaftNetworkFactory,
  type RaftRpcHandler,
} from '@flotilla/types';
import { parseHostPort } from './addr.ts';
import { type KvHttpHandler, type KvReader, kvHttpHandler } from './http-api.ts';
import type { KvRequest, KvResponse } from './kv-state.ts';
import { startLoopDelayMonitor } from './loop-delay.ts';
import { type KvStateMachine, openKvStateMachine } from './state-machine.ts';

/** Raft timing used by flotilla-kv unless overridden: suits shared, busy machines. */
export const KV_RAFT_DEFAULTS: RaftConfigInput = {
  heartbeatIntervalMs: 100,
  electionTimeoutMinMs: 1000,
  electionTimeoutMaxMs: 2000,
  snapshotPolicy: { sinceLast: 10_000 },
  maxInSnapshotLogToKeep: 1000,
};

/**
 * How often (ms) a node writes its committed log id to disk in the background (see the file log
 * store's `committedFlushMs`). A crash loses at most this much of it; a restart then re-applies
 * fewer entries until the leader reports the commit again. Each write is a meta-file replace (eight
 * file-system calls) that appends queue behind: at 50 ms a loaded leader's flush p50 was 7–12 ms,
 * at 1 000 ms 4.6–6.8 ms (`bench --clients 16`).
 */
export const KV_COMMITTED_FLUSH_MS = 1000;

/** Options of {@link startKvNode}. */
export interface KvNodeOptions {
  /** This node's id: a decimal string (`"1"`), shown as a number in the HTTP API. */
  id: NodeId;
  /** `host:port` to listen on; also the address peers and clients use (HTTP and Raft share it). */
  addr: string;
  /** Host to bind instead of the one in `addr` (e.g. `0.0.0.0`). */
  bindHost?: string;
  /**
   * The local IP address outgoing Raft connections are bound to (e.g. this node's own address, so
   * peers and packet filters see them come from it; on loopback they otherwise all leave from
   * 127.0.0.1). TCP transport only.
   */
  localAddress?: string;
  /** Data directory: `log/` (file log store) and `snapshots/` (state machine snapshots). */
  dir: string;
  /** Cluster id: peers of another cluster are refused. Default `flotilla-kv`. */
  clusterId?: string;
  /** Shared secret every Raft peer must prove it knows. */
  secret?: string;
  /**
   * Bearer token of the HTTP admin routes (`/init`, `/add-learner`, `/change-membership`). Default:
   * the `secret` when one is set (a node that makes its peers prove a secret does not let anyone who
   * reaches its HTTP port change its membership); no secret and no token leaves them open.
   */
  adminToken?: string;
  /**
   * The Raft transport: `tcp` (default, `@flotilla/transport-tcp`) or `grpc`
   * (`@flotilla/transport-grpc`, plain HTTP/2). Either way HTTP and Raft share the node's one port.
   */
  transport?: KvTransport;
  /** Raft configuration, merged over {@link KV_RAFT_DEFAULTS}. */
  config?: RaftConfigInput;
  /** Largest HTTP body, in bytes. */
  maxBodyBytes?: number;
  /**
   * How `/linearizable_read` confirms leadership: `readIndex` (default: a heartbeat round to a
   * quorum) or `lease` (no round while the leader's lease, renewed by quorum acks, is live).
   */
  readPolicy?: ReadPolicy;
  /** File-system access of the log store and the snapshot store. Default: the real file system. */
  fileIO?: FileIO;
  /**
   * Decorates the Raft API the HTTP layer calls (writes, reads, membership), given read access to
   * the local state machine; default: as it is. Raft RPCs from peers never go through it.
   */
  wrapRaft?: (raft: RaftApi<KvRequest, KvResponse>, local: KvReader) => RaftApi<KvRequest, KvResponse>;
  /** Decorates the HTTP request handler; default: as it is. */
  wrapHttp?: (handler: http.RequestListener) => http.RequestListener;
  /** Where the node logs. */
  logger?: Logger;
}

/** The Raft transports flotilla-kv can run on. */
export const KV_TRANSPORTS = ['tcp', 'grpc'] as const;

/** A Raft transport of flotilla-kv. */
export type KvTransport = (typeof KV_TRANSPORTS)[number];

/** Whether `v` names a transport of {@link KV_TRANSPORTS}. */
export function isKvTransport(v: unknown): v is KvTransport {
  return (KV_TRANSPORTS as readonly unknown[]).includes(v);
}

/** A running flotilla-kv node. */
export interface KvNode {
  /** The Raft node. */
  readonly raft: RaftApi<KvRequest, KvResponse>;
  /** The local state machine. */
  readonly stateMachine: KvStateMachine;
  /** The address it listens on (`host:port`, the real port when `addr` asked for port 0). */
  readonly addr: string;
  /** The HTTP handler (for its counters). */
  readonly http: KvHttpHandler;
  /** Stops serving, shuts Raft down and closes the stores. Idempotent. */
  close(): Promise<void>;
}

/** Reads a secret file, trimming one trailing newline; refuses an empty secret (named `field`). */
export async function readSecretFile(path: string, field = 'secret-file'): Promise<string> {
  const text = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  if (text.length === 0) throw new InvalidConfigError(field, `${path} is empty`);
  return text;
}

/** The admin token the HTTP API enforces: the explicit one, else the Raft secret, else none. */
function adminTokenOpt(opts: KvNodeOptions): { adminToken?: string } {
  const token = opts.adminToken ?? opts.secret;
  return token === undefined ? {} : { adminToken: token };
}

/**
 * Starts one flotilla-kv node: opens the file log store and the state machine under `dir`, creates
 * the Raft node with the chosen transport (TCP by default, or gRPC), and serves HTTP and Raft on one
 * port, telling them apart by the first bytes of each connection (TCP Raft peers open with
 * `RAFT_MAGIC`, gRPC peers with the HTTP/2 preface).
 */
export async function startKvNode(opts: KvNodeOptions): Promise<KvNode> {
  const log = opts.logger ?? silentLogger;
  const { host, port } = parseHostPort(opts.addr);
  const clusterId = opts.clusterId ?? 'flotilla-kv';
  const secretOpt = opts.secret === undefined ? {} : { secret: opts.secret };
  const logStore: FileLogStore = await fileLogStore(join(opts.dir, 'log'), {
    // A durable meta-file replace per commit would stall the write path (the runtime orders it
    // with appends and applies after it): persist the committed id in the background instead.
    committedFlushMs: KV_COMMITTED_FLUSH_MS,
    logger: log,
    ...(opts.fileIO === undefined ? {} : { io: opts.fileIO }),
  });
  let stateMachine: KvStateMachine;
  try {
    stateMachine = await openKvStateMachine(
      join(opts.dir, 'snapshots'),
      opts.fileIO === undefined ? {} : { io: opts.fileIO },
    );
  } catch (e) {
    await logStore.close();
    throw e;
  }
  const transport = opts.transport ?? 'tcp';
  if (!isKvTransport(transport)) {
    await logStore.close();
    throw new InvalidConfigError(
      'transport',
      `expected one of ${KV_TRANSPORTS.join(', ')}, got "${transport}"`,
    );
  }
  if (opts.localAddress !== undefined && transport !== 'tcp') {
    await logStore.close();
    throw new InvalidConfigError('localAddress', 'binding outgoing connections needs the tcp transport');
  }
  let raftNet: RaftTransport;
  try {
    raftNet = raftTransport(
      transport,
      { clusterId, nodeId: opts.id, ...secretOpt, logger: log },
      opts.localAddress,
    );
  } catch (e) {
    await logStore.close();
    throw e;
  }
  const network = raftNet.network;
  const raft = await Raft.create<KvRequest, KvResponse>({
    id: opts.id,
    config: { ...KV_RAFT_DEFAULTS, clusterName: clusterId, ...opts.config },
    network,
    logStore,
    stateMachine,
    logger: log,
  });
  const raftServer = raftNet.server(raft);
  // Through `state` on every read: installing a snapshot replaces the state object.
  const local: KvReader = {
    get: (key) => stateMachine.state.get(key),
    get size() {
      return stateMachine.state.size;
    },
  };
  let advertised = opts.addr;
  const loopDelay = startLoopDelayMonitor();
  const handler = kvHttpHandler({
    loopDelay,
    raft: opts.wrapRaft === undefined ? raft : opts.wrapRaft(raft, local),
    ...(opts.readPolicy === undefined ? {} : { readPolicy: opts.readPolicy }),
    store: local,
    get addr() {
      return advertised;
    },
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
    ...adminTokenOpt(opts),
    logger: log,
  });
  const web = http.createServer(
    { requestTimeout: 120_000 },
    opts.wrapHttp === undefined ? handler : opts.wrapHttp(handler),
  );
  // Nagle off for every accepted connection, as `http.createServer` does for its own (its option
  // applies only to sockets it accepts itself; these are accepted here and handed over).
  const front = net.createServer({ noDelay: true }, (socket) => sniff(socket, raftServer, web));
  front.on('error', (e) => log.error('listener failed', { error: String(e) }));
  try {
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.listen(port, opts.bindHost ?? host, () => {
        front.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    loopDelay.stop();
    await raft.shutdown();
    await network.close();
    await logStore.close();
    throw e;
  }
  const bound = front.address() as net.AddressInfo;
  if (port === 0) advertised = `${host}:${bound.port}`;
  log.info('node listening', { id: opts.id, addr: advertised, dir: opts.dir });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await new Promise<void>((r) => {
        front.close(() => r());
        web.closeAllConnections();
      });
      web.close();
      loopDelay.stop();
      await raftServer.close();
      await raft.shutdown();
      await network.close();
      await logStore.close();
    })();
    return closing;
  };
  return {
    raft,
    stateMachine,
    get addr() {
      return advertised;
    },
    http: handler,
    close,
  };
}

/** The Raft side of a node: the client factory and, once Raft exists, its server on the shared port. */
interface RaftTransport {
  readonly network: RaftNetworkFactory & { close(): Promise<void> };
  server(handler: RaftRpcHandler): RaftServerSide;
}

/** What the shared port needs of a transport's server. */
interface RaftServerSide {
  /** Whether these first bytes open a Raft connection: `true`, `false`, or `'more'` (read more). */
  claims(first: Uint8Array): boolean | 'more';
  /** Takes over a claimed connection, with the bytes already read. */
  serve(socket: net.Socket, first: Uint8Array): void;
  close(): Promise<void>;
}

function raftTransport(
  kind: KvTransport,
  init: { clusterId: string; nodeId: NodeId; secret?: string; logger: Logger },
  localAddress: string | undefined,
): RaftTransport {
  if (kind === 'grpc') {
    return {
      network: grpcNetwork(init),
      server(handler) {
        const s = grpcServer({ ...init, handler });
        return {
          claims(first) {
            const k = sniffHttp2(first);
            return k === 'more' ? 'more' : k === 'http2';
          },
          serve: (socket, first) => s.serveConnection(socket, first),
          close: () => s.close(),
        };
      },
    };
  }
  return {
    network: tcpNetwork(localAddress === undefined ? init : { ...init, localAddress }),
    server(handler) {
      const s = tcpServer({ ...init, handler });
      return {
        claims(first) {
          const n = Math.min(first.byteLength, RAFT_MAGIC.byteLength);
          const prefix = Buffer.from(first.subarray(0, n)).equals(Buffer.from(RAFT_MAGIC.subarray(0, n)));
          if (first.byteLength < RAFT_MAGIC.byteLength && prefix) return 'more';
          return looksLikeRaft(first);
        },
        serve: (socket, first) => s.adopt(socket, first),
        close: () => s.close(),
      };
    },
  };
}

/** The longest prefix any transport needs to recognize its connections. */
const MAX_SNIFF_BYTES = Math.max(RAFT_MAGIC.byteLength, HTTP2_PREFACE.byteLength);

/**
 * Routes a fresh connection by its first bytes: Raft peers (the TCP transport's `RAFT_MAGIC`, or the
 * HTTP/2 preface of gRPC) to the transport, the rest to HTTP.
 */
function sniff(socket: net.Socket, raftServer: RaftServerSide, web: http.Server): void {
  socket.on('error', () => socket.destroy());
  let first = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), 10_000);
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) first = Buffer.concat([first, chunk]);
    const verdict = raftServer.claims(first.subarray(0, MAX_SNIFF_BYTES));
    if (verdict === 'more') return; // need more bytes
    socket.off('readable', onReadable);
    clearTimeout(timer);
    if (verdict) {
      raftServer.serve(socket, first);
      return;
    }
    socket.unshift(first);
    web.emit('connection', socket);
  };
  socket.on('readable', onReadable);
  socket.once('close', () => clearTimeout(timer));
}
