import { grpcNetwork, grpcServer } from '@flotilla/transport-grpc';
import { tcpNetwork, tcpServer } from '@flotilla/transport-tcp';
import type { RaftNetwork, StreamAppendResult, VoteRequest } from '@flotilla/types';
import type { Bench, BenchContext } from '../harness.ts';
import { benchHandler, ENTRY_BYTES, iterate, requests } from './transport-tcp.ts';

// The gRPC transport beside the TCP transport, side by side in one run: the same shape (one client,
// one server, both ends in this process on one event loop) and the same load as the transport-tcp
// benchmark (pipelined streamAppend of 100-byte entries in batches of 1, 64 and 1024; unary vote
// round trips), each figure reported for both transports with the ratio gRPC / TCP.

interface Pair {
  readonly client: RaftNetwork;
  close(): Promise<void>;
}

async function tcpPair(): Promise<Pair> {
  const server = tcpServer({ clusterId: 'bench', nodeId: 'b', handler: benchHandler() });
  const { port } = await server.listen(0, '127.0.0.1');
  const network = tcpNetwork({ clusterId: 'bench', nodeId: 'a' });
  return {
    client: network.newClient('b', { addr: `127.0.0.1:${port}` }),
    async close() {
      await network.close();
      await server.close();
    },
  };
}

async function grpcPair(): Promise<Pair> {
  const server = grpcServer({ clusterId: 'bench', nodeId: 'b', handler: benchHandler() });
  const { port } = await server.listen(0, '127.0.0.1');
  const network = grpcNetwork({ clusterId: 'bench', nodeId: 'a' });
  return {
    client: network.newClient('b', { addr: `127.0.0.1:${port}` }),
    async close() {
      await network.close();
      await server.close();
    },
  };
}

async function run(ctx: BenchContext): Promise<void> {
  const tcp = await tcpPair();
  const grpc = await grpcPair();
  const summary: Record<string, unknown> = {};
  try {
    for (const batch of [1, 64, 1024]) {
      const entries = batch === 1 ? ctx.size(50_000, 5_000, 500) : ctx.size(262_144, 32_768, 4_096);
      const reqs = requests(batch, entries);
      ctx.params({ [`entries_batch${batch}`]: entries });
      const lastIndex = entries - 1;
      const stream = (p: Pair) => async () => {
        const input = p.client.streamAppend;
        if (input === undefined) throw new Error('the transport has no streamAppend');
        let last: StreamAppendResult | undefined;
        for await (const r of input.call(p.client, iterate(reqs), { timeoutMs: 30_000 })) last = r;
        if (last?.type !== 'matched' || last.matching?.index !== lastIndex)
          throw new Error('stream did not finish');
      };
      const g = await ctx.measure(
        `grpc stream batch=${batch}`,
        { opsPerRep: entries, reps: 3 },
        stream(grpc),
      );
      const t = await ctx.measure(`tcp stream batch=${batch}`, { opsPerRep: entries, reps: 3 }, stream(tcp));
      const ratio = ctx.ratio(
        `grpc/tcp batch=${batch}`,
        `grpc stream batch=${batch}`,
        `tcp stream batch=${batch}`,
      );
      summary[`batch${batch}`] = {
        grpcEntriesPerSec: Math.round(g.opsPerSec.median),
        grpcMBPerSec: +((g.opsPerSec.median * ENTRY_BYTES) / 1e6).toFixed(1),
        tcpEntriesPerSec: Math.round(t.opsPerSec.median),
        tcpMBPerSec: +((t.opsPerSec.median * ENTRY_BYTES) / 1e6).toFixed(1),
        ratio: +ratio.value.toFixed(3),
      };
    }

    const pings = ctx.size(5_000, 500, 50);
    const voteReq: VoteRequest = {
      vote: { term: 2, nodeId: 'a', committed: false },
      lastLogId: { term: 1, index: 9 },
    };
    for (let i = 0; i < 200; i++) {
      await grpc.client.vote(voteReq, { timeoutMs: 5000 });
      await tcp.client.vote(voteReq, { timeoutMs: 5000 });
    }
    const grpcUs: number[] = [];
    const tcpUs: number[] = [];
    for (let i = 0; i < pings; i++) {
      // Interleaved so both see the same machine load.
      let t = process.hrtime.bigint();
      await grpc.client.vote(voteReq, { timeoutMs: 5000 });
      grpcUs.push(Number(process.hrtime.bigint() - t) / 1_000);
      t = process.hrtime.bigint();
      await tcp.client.vote(voteReq, { timeoutMs: 5000 });
      tcpUs.push(Number(process.hrtime.bigint() - t) / 1_000);
    }
    const gl = ctx.latency('grpc unary vote round trip', grpcUs, 'µs');
    const tl = ctx.latency('tcp unary vote round trip', tcpUs, 'µs');
    summary.unary = {
      grpcP50Us: +gl.p50.toFixed(1),
      grpcP99Us: +gl.p99.toFixed(1),
      tcpP50Us: +tl.p50.toFixed(1),
      tcpP99Us: +tl.p99.toFixed(1),
      p50Ratio: +(gl.p50 / tl.p50).toFixed(2),
      p99Ratio: +(gl.p99 / tl.p99).toFixed(2),
    };
    ctx.result({ transportGrpc: summary });
    ctx.note('ratios are gRPC / TCP: throughput ratio < 1 and latency ratio > 1 mean gRPC is slower');
  } finally {
    await grpc.close();
    await tcp.close();
  }
}

/** The gRPC transport against the TCP transport: same shape, same load, ratio gRPC / TCP. */
export const bench: Bench = {
  name: 'transport-grpc',
  description:
    'gRPC vs TCP transport side by side: pipelined streamAppend entries/s and MB/s, unary vote RTT; ratio gRPC/TCP',
  run,
};
