/**
 * One node of the `cluster-durable` benchmark, in its own process, driven over IPC (see
 * `ChildWorker`). Mode `raft`: a Flotilla node (`Raft` + TCP transport + file log store with
 * `fdatasync`, a counting state machine). Mode `floor`: the 3-process floor calibration, no Raft
 * logic: the leader (id 1) group-commits pending writes (one `writev` + `fdatasync` per batch) while
 * sending each batch once, msgpackr-encoded, over TCP to both followers, which group-commit what they
 * received the same way and acknowledge the last index; a write resolves once the majority (the
 * median of the three durable indexes) holds it.
 *
 * Requests: `start {mode, id, dir}` → `{port}`; `peers {addrs}`; `load {clients, total, bytes}` →
 * `{seconds, latenciesMs}` (leader only); `stats` → `{entries, syncs}`; `stop`.
 *
 * @module
 */
import { open } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import { type FileLogStore, fileLogStore } from '@flotilla/storage-file';
import { tcpNetwork, tcpServer } from '@flotilla/transport-tcp';
import type { NodeId, RaftRpcHandler } from '@flotilla/types';
import { KV_COMMITTED_FLUSH_MS } from 'flotilla-kv';
import { Packr, Unpackr } from 'msgpackr';
import { BENCH_TIMING } from '../memory-cluster.ts';
import { serveRequests } from '../proc.ts';

interface NodeImpl {
  peers(addrs: Record<NodeId, string>): Promise<void>;
  propose(data: Uint8Array): Promise<unknown>;
  stats(): { entries: number; syncs: number };
  close(): Promise<void>;
}

// ------------------------------------------------------------------ raft

async function raftNode(id: NodeId, dir: string): Promise<{ port: number; impl: NodeImpl }> {
  let handler: RaftRpcHandler | null = null;
  const late: RaftRpcHandler = {
    appendEntries: (r) => (handler as RaftRpcHandler).appendEntries(r),
    vote: (r) => (handler as RaftRpcHandler).vote(r),
    installFullSnapshot: (v, m, d) => (handler as RaftRpcHandler).installFullSnapshot(v, m, d),
    transferLeader: (r) => (handler as RaftRpcHandler).transferLeader(r),
    streamAppend: (i, o) => (handler as RaftRpcHandler).streamAppend(i, o),
  };
  const server = tcpServer({ handler: late, clusterId: 'bench', nodeId: id });
  const { port } = await server.listen(0, '127.0.0.1');
  const store: FileLogStore = await fileLogStore(join(dir, 'log'), {
    committedFlushMs: KV_COMMITTED_FLUSH_MS,
  });
  const network = tcpNetwork({ clusterId: 'bench', nodeId: id });
  const raft = await Raft.create<Uint8Array, number>({
    id,
    config: { ...BENCH_TIMING, clusterName: 'bench' },
    network,
    logStore: store,
    stateMachine: memoryStateMachine<number, Uint8Array, number>({
      initial: 0,
      apply: (s) => [s + 1, s + 1],
    }),
  });
  handler = raft;
  return {
    port,
    impl: {
      async peers(addrs) {
        if (id !== '1') return;
        await raft.initialize(Object.fromEntries(Object.entries(addrs).map(([k, addr]) => [k, { addr }])));
        await raft.wait({ timeoutMs: 20_000 }).state('Leader');
      },
      propose: (data) => raft.clientWrite(data),
      // The last index, not the store's entry count: purges behind snapshots shrink that.
      stats: () => ({ entries: raft.metrics.current.lastLogIndex ?? 0, syncs: store.stats().logSyncs }),
      async close() {
        await server.close();
        await raft.shutdown();
        await network.close();
        await store.close();
      },
    },
  };
}

// ------------------------------------------------------------------ floor

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

function frame(payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(4 + payload.length);
  b.writeUInt32BE(payload.length, 0);
  b.set(payload, 4);
  return b;
}

/** Calls `onFrame` with each length-prefixed frame arriving on `sock`. */
function readFrames(sock: net.Socket, onFrame: (payload: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off - 4 < len) break;
      onFrame(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
  });
}

/** Appends batches to one file: one `writev` + `fdatasync` per batch, batches formed while syncing. */
class GroupCommitFile {
  readonly #queue: { data: Uint8Array[]; last: number }[] = [];
  #busy = false;
  #pos = 0;
  syncs = 0;
  entries = 0;
  durable = 0;
  readonly fh: Awaited<ReturnType<typeof open>>;
  readonly onDurable: (last: number) => void;
  constructor(fh: Awaited<ReturnType<typeof open>>, onDurable: (last: number) => void) {
    this.fh = fh;
    this.onDurable = onDurable;
  }

  push(data: Uint8Array[], last: number): void {
    this.#queue.push({ data, last });
    if (!this.#busy) void this.#run();
  }

  async #run(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        const bufs = batch.flatMap((b) => b.data);
        const { bytesWritten } = await this.fh.writev(bufs, this.#pos);
        this.#pos += bytesWritten;
        await this.fh.datasync();
        this.syncs++;
        this.entries += bufs.length;
        this.durable = (batch[batch.length - 1] as { last: number }).last;
        this.onDurable(this.durable);
      }
    } finally {
      this.#busy = false;
    }
  }
}

async function floorNode(id: NodeId, dir: string): Promise<{ port: number; impl: NodeImpl }> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const fh = await open(join(dir, 'floor.log'), 'w');
  const leader = id === '1';
  // Leader state.
  const acked = [0, 0];
  let last = 0;
  let committed = 0;
  const waiters: { index: number; resolve: () => void }[] = [];
  let waitHead = 0;
  let pending: Uint8Array[] = [];
  let flushScheduled = false;
  const sockets: net.Socket[] = [];
  const tryCommit = (): void => {
    const c = [file.durable, ...acked].sort((a, b) => b - a)[1] as number;
    if (c <= committed) return;
    committed = c;
    while (waitHead < waiters.length && (waiters[waitHead] as { index: number }).index <= c) {
      (waiters[waitHead++] as { resolve: () => void }).resolve();
    }
    if (waitHead > 4096) {
      waiters.splice(0, waitHead);
      waitHead = 0;
    }
  };
  let followerSock: net.Socket | null = null;
  const file = new GroupCommitFile(fh, (durable) => {
    if (leader) tryCommit();
    else followerSock?.write(frame(packr.pack({ upto: durable })));
  });
  const flush = (): void => {
    flushScheduled = false;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const first = last - batch.length + 1;
    const bytes = frame(packr.pack({ first, entries: batch }));
    for (const s of sockets) s.write(bytes);
    file.push(batch, last);
  };
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    followerSock = sock;
    readFrames(sock, (payload) => {
      const m = unpackr.unpack(payload) as { first: number; entries: Uint8Array[] };
      file.push(m.entries, m.first + m.entries.length - 1);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    impl: {
      async peers(addrs) {
        if (!leader) return;
        const followers = Object.entries(addrs).filter(([k]) => k !== id);
        for (const [i, [, addr]] of followers.entries()) {
          const [host, p] = addr.split(':');
          const s = net.connect(Number(p), host);
          s.setNoDelay(true);
          await new Promise<void>((r, j) => {
            s.once('connect', () => r());
            s.once('error', j);
          });
          readFrames(s, (payload) => {
            const m = unpackr.unpack(payload) as { upto: number };
            acked[i] = m.upto;
            tryCommit();
          });
          sockets.push(s);
        }
      },
      propose(data) {
        pending.push(data);
        const index = ++last;
        if (!flushScheduled) {
          flushScheduled = true;
          // One batch per loop turn: what arrived while the last one was being handled.
          setImmediate(flush);
        }
        return new Promise<void>((resolve) => waiters.push({ index, resolve }));
      },
      stats: () => ({ entries: file.entries, syncs: file.syncs }),
      async close() {
        for (const s of sockets) s.destroy();
        followerSock?.destroy();
        await new Promise<void>((r) => server.close(() => r()));
        await fh.close();
      },
    },
  };
}

// ------------------------------------------------------------------ IPC

let impl: NodeImpl | null = null;
const need = (): NodeImpl => {
  if (impl === null) throw new Error('not started');
  return impl;
};

serveRequests(async (type, body) => {
  switch (type) {
    case 'start': {
      const make = body.mode === 'floor' ? floorNode : raftNode;
      const r = await make(String(body.id), String(body.dir));
      impl = r.impl;
      return { port: r.port };
    }
    case 'peers':
      await need().peers(body.addrs as Record<NodeId, string>);
      return null;
    case 'load': {
      const node = need();
      const clients = Number(body.clients);
      const total = Number(body.total);
      const bytes = Number(body.bytes ?? 100);
      const lat: number[] = [];
      const t0 = performance.now();
      const base = Math.floor(total / clients);
      const extra = total % clients;
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          const data = new Uint8Array(bytes).fill(c & 0xff);
          const n = base + (c < extra ? 1 : 0);
          for (let i = 0; i < n; i++) {
            const s = performance.now();
            await node.propose(data);
            lat.push(performance.now() - s);
          }
        }),
      );
      return { seconds: (performance.now() - t0) / 1000, latenciesMs: lat };
    }
    case 'stats':
      return need().stats();
    case 'stop':
      await impl?.close();
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown request ${type}`);
  }
});
