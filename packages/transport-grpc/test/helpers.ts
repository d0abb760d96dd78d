import net from 'node:net';
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  type Entry,
  type LogId,
  normalEntry,
  type RaftRpcHandler,
  type SnapshotData,
  type SnapshotMeta,
  type SnapshotResponse,
  type StreamAppendResult,
  type TransferLeaderRequest,
  type Vote,
  type VoteRequest,
  type VoteResponse,
} from '@flotilla/types';
import {
  type GrpcNetworkInit,
  type GrpcServer,
  type GrpcServerInit,
  grpcNetwork,
  grpcServer,
} from '../src/index.ts';

/** The leader vote used by tests. */
export const LEADER: Vote = { term: 3, nodeId: 'a', committed: true };

/** `n` entries of `bytes` bytes each following `prev`. */
export function entriesAfter(prevIndex: number, n: number, bytes = 100): Entry[] {
  return Array.from({ length: n }, (_, i) =>
    normalEntry(3, prevIndex + 1 + i, new Uint8Array(bytes).fill(i % 251)),
  );
}

/** An AppendEntries carrying `n` entries after index `prevIndex` (-1: from the start). */
export function appendReq(prevIndex: number, n: number, bytes = 100): AppendEntriesRequest {
  return {
    vote: LEADER,
    prevLogId: prevIndex < 0 ? null : { term: 3, index: prevIndex },
    entries: entriesAfter(prevIndex, n, bytes),
    leaderCommit: null,
  };
}

/** A recording handler; its stream side acks every 16th request, cumulatively, and the last. */
export class TestHandler implements RaftRpcHandler {
  appended: AppendEntriesRequest[] = [];
  streamed = 0;
  votes: VoteRequest[] = [];
  transfers: TransferLeaderRequest[] = [];
  snapshots: { vote: Vote; meta: SnapshotMeta; bytes: number }[] = [];
  /** When set, the stream side stops reading after this many requests. */
  stallAfter: number | undefined;
  /** When set, the stream answers a conflict at this request number. */
  conflictAt: number | undefined;

  async appendEntries(req: AppendEntriesRequest): Promise<AppendEntriesResponse> {
    this.appended.push(req);
    if (req.prevLogId !== null && req.prevLogId.index === 999_999) throw new Error('boom');
    return { type: 'success' };
  }

  async vote(req: VoteRequest): Promise<VoteResponse> {
    this.votes.push(req);
    return { vote: req.vote, voteGranted: true, lastLogId: null };
  }

  async *streamAppend(input: AsyncIterable<AppendEntriesRequest>): AsyncIterable<StreamAppendResult> {
    let last: LogId | null = null;
    let unacked = 0;
    for await (const req of input) {
      this.streamed++;
      if (this.conflictAt === this.streamed && req.prevLogId !== null) {
        yield { type: 'conflict', logId: req.prevLogId };
        return;
      }
      last = req.entries.length > 0 ? req.entries[req.entries.length - 1]!.logId : req.prevLogId;
      unacked++;
      if (this.stallAfter !== undefined && this.streamed >= this.stallAfter) await new Promise(() => {});
      // Coalesce: one cumulative ack per 16 requests (and one at the end).
      if (unacked >= 16) {
        unacked = 0;
        yield { type: 'matched', matching: last };
      }
    }
    if (unacked > 0) yield { type: 'matched', matching: last };
  }

  async installFullSnapshot(vote: Vote, meta: SnapshotMeta, data: SnapshotData): Promise<SnapshotResponse> {
    let bytes = 0;
    for await (const c of data) bytes += c.byteLength;
    this.snapshots.push({ vote, meta, bytes });
    return { vote };
  }

  async transferLeader(req: TransferLeaderRequest): Promise<void> {
    this.transfers.push(req);
  }
}

/** A server on an ephemeral loopback port plus a client factory pointed at it. */
export async function pair(
  serverOpts: Partial<GrpcServerInit> = {},
  clientOpts: Partial<GrpcNetworkInit> = {},
): Promise<{
  handler: TestHandler;
  server: GrpcServer;
  port: number;
  addr: string;
  network: ReturnType<typeof grpcNetwork>;
  close: () => Promise<void>;
}> {
  const handler = (serverOpts.handler as TestHandler | undefined) ?? new TestHandler();
  const server = grpcServer({ clusterId: 'test', nodeId: 'b', ...serverOpts, handler });
  const { port } = await server.listen(0, '127.0.0.1');
  const network = grpcNetwork({ clusterId: 'test', nodeId: 'a', connectTimeoutMs: 5_000, ...clientOpts });
  return {
    handler,
    server,
    port,
    addr: `127.0.0.1:${port}`,
    network,
    close: async () => {
      await network.close();
      await server.close();
    },
  };
}

/** Opens a raw socket to the port. */
export function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the socket is closed by the peer (or after `ms`, with `false`). */
export function closedWithin(s: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.on('error', () => {});
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
    s.resume();
  });
}

/** A fresh client's vote: proves the server still serves. */
export async function stillServes(addr: string, init: Partial<GrpcNetworkInit> = {}): Promise<void> {
  const network = grpcNetwork({ clusterId: 'test', nodeId: 'a', ...init });
  try {
    const res = await network
      .newClient('b', { addr })
      .vote({ vote: { term: 9, nodeId: 'a', committed: false }, lastLogId: null }, { timeoutMs: 5_000 });
    if (!res.voteGranted) throw new Error(`server on ${addr} did not answer`);
  } finally {
    await network.close();
  }
}

/** Collects a stream's results. */
export async function collect(it: AsyncIterable<StreamAppendResult>): Promise<StreamAppendResult[]> {
  const out: StreamAppendResult[] = [];
  for await (const r of it) out.push(r);
  return out;
}
export type { AppendEntriesRequest } from '@flotilla/types';
