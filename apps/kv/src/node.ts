import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { type Logger, Raft, type RaftApi, type RaftConfigInput, silentLogger } from '@flotilla/raft';
import { type FileLogStore, fileLogStore } from '@flotilla/storage-file';
import { looksLikeRaft, RAFT_MAGIC, type TcpServer, tcpNetwork, tcpServer } from '@flotilla/transport-tcp';
import { InvalidConfigError, type NodeId } from '@flotilla/types';
import { type KvHttpHandler, kvHttpHandler } from './http-api.ts';
import type { KvRequest, KvResponse } from './kv-state.ts';
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
  /** Data directory: `log/` (file log store) and `snapshots/` (state machine snapshots). */
  dir: string;
  /** Cluster id: peers of another cluster are refused. Default `flotilla-kv`. */
  clusterId?: string;
  /** Shared secret every Raft peer must prove it knows. */
  secret?: string;
  /** Raft configuration, merged over {@link KV_RAFT_DEFAULTS}. */
  config?: RaftConfigInput;
  /** Largest HTTP body, in bytes. */
  maxBodyBytes?: number;
  /** Where the node logs. */
  logger?: Logger;
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

/** Splits `host:port` (or `[v6]:port`); throws `InvalidConfigError` on anything else. */
export function parseHostPort(addr: string, field = 'addr'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(addr);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (m === null || host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new InvalidConfigError(field, `expected host:port, got "${addr}"`);
  }
  return { host, port };
}

/** Reads a secret file, trimming one trailing newline; refuses an empty secret. */
export async function readSecretFile(path: string): Promise<string> {
  const text = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  if (text.length === 0) throw new InvalidConfigError('secret-file', `${path} is empty`);
  return text;
}

/**
 * Starts one flotilla-kv node: opens the file log store and the state machine under `dir`, creates
 * the Raft node with the TCP transport, and serves HTTP and Raft on one port, telling them apart by
 * the first bytes of each connection (Raft peers open with `RAFT_MAGIC`).
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
  });
  let stateMachine: KvStateMachine;
  try {
    stateMachine = await openKvStateMachine(join(opts.dir, 'snapshots'));
  } catch (e) {
    await logStore.close();
    throw e;
  }
  const network = tcpNetwork({ clusterId, nodeId: opts.id, ...secretOpt });
  const raft = await Raft.create<KvRequest, KvResponse>({
    id: opts.id,
    config: { ...KV_RAFT_DEFAULTS, clusterName: clusterId, ...opts.config },
    network,
    logStore,
    stateMachine,
    logger: log,
  });
  const raftServer: TcpServer = tcpServer({ handler: raft, clusterId, nodeId: opts.id, ...secretOpt });
  let advertised = opts.addr;
  const handler = kvHttpHandler({
    raft,
    store: stateMachine,
    get addr() {
      return advertised;
    },
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
    logger: log,
  });
  const web = http.createServer({ requestTimeout: 120_000 }, handler);
  const front = net.createServer((socket) => sniff(socket, raftServer, web));
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

/** Routes a fresh connection by its first bytes: Raft peers to the transport, the rest to HTTP. */
function sniff(socket: net.Socket, raftServer: TcpServer, web: http.Server): void {
  socket.on('error', () => socket.destroy());
  let first = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), 10_000);
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) first = Buffer.concat([first, chunk]);
    const n = Math.min(first.byteLength, RAFT_MAGIC.byteLength);
    const prefixOfMagic = first.subarray(0, n).equals(Buffer.from(RAFT_MAGIC.subarray(0, n)));
    if (first.byteLength < RAFT_MAGIC.byteLength && prefixOfMagic) return; // need more bytes
    socket.off('readable', onReadable);
    clearTimeout(timer);
    if (looksLikeRaft(first)) {
      raftServer.adopt(socket, first);
      return;
    }
    socket.unshift(first);
    web.emit('connection', socket);
  };
  socket.on('readable', onReadable);
  socket.once('close', () => clearTimeout(timer));
}
