import net from 'node:net';
import { tcpNetwork, tcpServer } from '@flotilla/transport-tcp';
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  type LogId,
  normalEntry,
  type RaftRpcHandler,
  type StreamAppendResult,
  type VoteRequest,
  type VoteResponse,
} from '@flotilla/types';
import { Packr, pack, Unpackr, unpack } from 'msgpackr';
import type { Bench, BenchContext } from '../harness.ts';

// Everything runs in this process on one event loop: client and server of the transport, and client
// and server of the raw baseline, so both sides of each comparison pay for both ends.

/** Payload bytes of each entry (shared with the transport-grpc benchmark). */
export const ENTRY_BYTES = 100;
const LEADER = { term: 1, nodeId: 'a', committed: true };

/** `entries` entries of {@link ENTRY_BYTES} in AppendEntries requests of `batch` entries. */
export function requests(batch: number, entries: number): AppendEntriesRequest[] {
  const out: AppendEntriesRequest[] = [];
  const payload = new Uint8Array(ENTRY_BYTES).fill(7);
  for (let first = 0; first < entries; first += batch) {
    const n = Math.min(batch, entries - first);
    out.push({
      vote: LEADER,
      prevLogId: first === 0 ? null : { term: 1, index: first - 1 },
      entries: Array.from({ length: n }, (_, i) => normalEntry(1, first + i, payload)),
      leaderCommit: null,
    });
  }
  return out;
}

/** A handler that acknowledges about every 1024 entries (cumulatively) and at the end. */
export function benchHandler(): RaftRpcHandler {
  return {
    async appendEntries(): Promise<AppendEntriesResponse> {
      return { type: 'success' };
    },
    async vote(req: VoteRequest): Promise<VoteResponse> {
      return { vote: req.vote, voteGranted: true, lastLogId: null };
    },
    async *streamAppend(input: AsyncIterable<AppendEntriesRequest>): AsyncIterable<StreamAppendResult> {
      let last: LogId | null = null;
      let unacked = 0;
      for await (const req of input) {
        last = req.entries.at(-1)?.logId ?? req.prevLogId;
        unacked += Math.max(1, req.entries.length);
        if (unacked >= 1024) {
          unacked = 0;
          yield { type: 'matched', matching: last };
        }
      }
      if (unacked > 0) yield { type: 'matched', matching: last };
    },
    async installFullSnapshot(vote) {
      return { vote };
    },
    async transferLeader() {},
  };
}

function frameOf(body: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.byteLength, 0);
  return Buffer.concat([head, body]);
}

/** Splits length-prefixed frames out of a byte stream. */
function deframer(
  onFrame: (body: Buffer) => void,
  onChunkEnd: () => void = () => {},
): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (pending.length - at >= 4) {
      const n = pending.readUInt32BE(at);
      if (pending.length - at - 4 < n) break;
      onFrame(pending.subarray(at + 4, at + 4 + n));
      at += 4 + n;
    }
    pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
    onChunkEnd();
  };
}

/** The raw limit: a plain socket pair, simplest length-prefix framing, msgpackr on both ends. */
async function rawPair(): Promise<{
  pipeline(reqs: AppendEntriesRequest[]): Promise<void>;
  ping(req: VoteRequest): Promise<void>;
  close(): void;
}> {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    // One decoder per connection, like the transport; one cumulative ack per chunk read.
    const unpackr = new Unpackr({ sequential: true });
    let last: number | undefined;
    s.on(
      'data',
      deframer(
        (body) => {
          const msg = unpackr.unpack(body) as
            | { t: 'ae'; r: AppendEntriesRequest }
            | { t: 'vote'; r: VoteRequest };
          if (msg.t === 'vote')
            s.write(frameOf(pack({ vote: msg.r.vote, voteGranted: true, lastLogId: null })));
          else last = msg.r.entries.at(-1)?.logId.index ?? -1;
        },
        () => {
          if (last === undefined) return;
          s.write(frameOf(pack({ type: 'matched', matching: { term: 1, index: last } })));
          last = undefined;
        },
      ),
    );
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const sock = net.connect({ host: '127.0.0.1', port });
  sock.setNoDelay(true);
  await new Promise((r) => sock.once('connect', r));
  let onReply: (body: Buffer) => void = () => {};
  sock.on(
    'data',
    deframer((b) => onReply(b)),
  );
  const packr = new Packr({ sequential: true });
  return {
    async pipeline(reqs) {
      const lastIndex = reqs.at(-1)?.entries.at(-1)?.logId.index;
      const done = new Promise<void>((resolve) => {
        onReply = (b) => {
          const r = unpack(b) as { matching: LogId };
          if (r.matching.index === lastIndex) resolve();
        };
      });
      for (const r of reqs) {
        if (!sock.write(frameOf(packr.pack({ t: 'ae', r }))))
          await new Promise((res) => sock.once('drain', res));
      }
      await done;
    },
    ping(req) {
      return new Promise<void>((resolve) => {
        onReply = (b) => {
          unpack(b);
          resolve();
        };
        sock.write(frameOf(packr.pack({ t: 'vote', r: req })));
      });
    },
    close() {
      sock.destroy();
      server.close();
    },
  };
}

/** Yields `items` one by one. */
export async function* iterate<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

async function run(ctx: BenchContext): Promise<void> {
  const server = tcpServer({ clusterId: 'bench', nodeId: 'b', handler: benchHandler() });
  const { port } = await server.listen(0, '127.0.0.1');
  const network = tcpNetwork({ clusterId: 'bench', nodeId: 'a' });
  const client = network.newClient('b', { addr: `127.0.0.1:${port}` });
  const raw = await rawPair();
  const summary: Record<string, unknown> = {};
  try {
    for (const batch of [1, 64, 1024]) {
      const entries = batch === 1 ? ctx.size(50_000, 5_000, 500) : ctx.size(262_144, 32_768, 4_096);
      const reqs = requests(batch, entries);
      ctx.params({ [`entries_batch${batch}`]: entries });
      const lastIndex = entries - 1;
      const tcp = await ctx.measure(`stream batch=${batch}`, { opsPerRep: entries, reps: 3 }, async () => {
        let last: StreamAppendResult | undefined;
        for await (const r of client.streamAppend(iterate(reqs), { timeoutMs: 30_000 })) last = r;
        if (last?.type !== 'matched' || last.matching?.index !== lastIndex)
          throw new Error('stream did not finish');
      });
      const rawM = await ctx.measure(`raw batch=${batch}`, { opsPerRep: entries, reps: 3 }, () =>
        raw.pipeline(reqs),
      );
      const ratio = ctx.ratio(`stream/raw batch=${batch}`, `stream batch=${batch}`, `raw batch=${batch}`);
      summary[`batch${batch}`] = {
        streamEntriesPerSec: Math.round(tcp.opsPerSec.median),
        streamMBPerSec: +((tcp.opsPerSec.median * ENTRY_BYTES) / 1e6).toFixed(1),
        rawEntriesPerSec: Math.round(rawM.opsPerSec.median),
        rawMBPerSec: +((rawM.opsPerSec.median * ENTRY_BYTES) / 1e6).toFixed(1),
        ratio: +ratio.value.toFixed(3),
      };
    }

    const pings = ctx.size(5_000, 500, 50);
    const voteReq: VoteRequest = {
      vote: { term: 2, nodeId: 'a', committed: false },
      lastLogId: { term: 1, index: 9 },
    };
    for (let i = 0; i < 200; i++) {
      await client.vote(voteReq);
      await raw.ping(voteReq);
    }
    const tcpUs: number[] = [];
    const rawUs: number[] = [];
    for (let i = 0; i < pings; i++) {
      // Interleaved so both see the same machine load.
      let t = process.hrtime.bigint();
      await client.vote(voteReq);
      tcpUs.push(Number(process.hrtime.bigint() - t) / 1_000);
      t = process.hrtime.bigint();
      await raw.ping(voteReq);
      rawUs.push(Number(process.hrtime.bigint() - t) / 1_000);
    }
    const tl = ctx.latency('unary vote round trip', tcpUs, 'µs');
    const rl = ctx.latency('raw ping-pong round trip', rawUs, 'µs');
    summary.unary = {
      p50Us: +tl.p50.toFixed(1),
      p99Us: +tl.p99.toFixed(1),
      rawP50Us: +rl.p50.toFixed(1),
      rawP99Us: +rl.p99.toFixed(1),
      p50Ratio: +(tl.p50 / rl.p50).toFixed(2),
      p99Ratio: +(tl.p99 / rl.p99).toFixed(2),
    };
    ctx.result({ transportTcp: summary });
    ctx.note(`goals: stream/raw ≥ 0.70 for batches ≥ 64; unary p50 within 1.5× of raw ping-pong`);
  } finally {
    raw.close();
    await network.close();
    await server.close();
  }
}

/** Pipelined AppendEntries and unary round trips over loopback, against a raw socket in the same run. */
export const bench: Bench = {
  name: 'transport-tcp',
  description:
    'TCP transport: pipelined streamAppend entries/s and MB/s vs a raw framed socket; unary RTT vs ping-pong',
  run,
};
