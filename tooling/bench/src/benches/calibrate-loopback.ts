import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Bench } from '../harness.ts';

/**
 * The echo server, run in a worker thread so it has its own event loop (a second Node "node" in the
 * same process, whose CPU time `process.cpuUsage` therefore counts). It parses 4-byte big-endian
 * length-prefixed frames and writes each one back whole.
 */
const ECHO_SERVER = `
const net = require('node:net');
const { parentPort } = require('node:worker_threads');
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    const out = [];
    while (pending.length - offset >= 4) {
      const len = pending.readUInt32BE(offset);
      if (pending.length - offset - 4 < len) break;
      out.push(pending.subarray(offset, offset + 4 + len));
      offset += 4 + len;
    }
    if (out.length > 0) socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
    pending = offset === pending.length ? Buffer.alloc(0) : pending.subarray(offset);
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', (m) => { if (m === 'stop') server.close(() => parentPort.close()); });
`;

/** A client connection that sends length-prefixed frames and counts (or awaits) echoed ones. */
class FramedClient {
  readonly #socket: Socket;
  #pending: Buffer = Buffer.alloc(0);
  #onFrame: (() => void) | null = null;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
  }

  #receive(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let offset = 0;
    while (this.#pending.length - offset >= 4) {
      const len = this.#pending.readUInt32BE(offset);
      if (this.#pending.length - offset - 4 < len) break;
      offset += 4 + len;
      this.#onFrame?.();
    }
    this.#pending = offset === this.#pending.length ? Buffer.alloc(0) : this.#pending.subarray(offset);
  }

  /**
   * Sends `count` copies of `frame` keeping at most `window` unanswered, and resolves when all
   * `count` echoes have arrived. `window = 1` is strict ping-pong; `onReply` sees each round trip.
   * Rejects when the connection fails or closes, or when `signal` aborts (the time budget ran out).
   */
  exchange(
    frame: Buffer,
    count: number,
    window: number,
    signal: AbortSignal,
    onReply?: (sentAtNs: bigint) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const sentAt: bigint[] = [];
      let sent = 0;
      let received = 0;
      const cleanup = (): void => {
        this.#onFrame = null;
        this.#socket.off('error', fail);
        this.#socket.off('close', closed);
        signal.removeEventListener('abort', aborted);
      };
      const fail = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const closed = (): void => fail(new Error('echo connection closed mid-exchange'));
      const aborted = (): void => fail(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal.aborted) {
        aborted();
        return;
      }
      this.#socket.once('error', fail);
      this.#socket.once('close', closed);
      signal.addEventListener('abort', aborted, { once: true });
      const pump = (): void => {
        while (sent < count && sent - received < window) {
          sentAt.push(process.hrtime.bigint());
          sent += 1;
          this.#socket.write(frame);
        }
      };
      this.#onFrame = () => {
        const t = sentAt[received];
        received += 1;
        if (onReply !== undefined && t !== undefined) onReply(t);
        if (received === count) {
          cleanup();
          resolve();
        } else {
          pump();
        }
      };
      pump();
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

function frameOf(payloadBytes: number): Buffer {
  const frame = Buffer.alloc(4 + payloadBytes, 0xab);
  frame.writeUInt32BE(payloadBytes, 0);
  return frame;
}

/**
 * Node-to-Node loopback TCP over `127.0.0.1` with 4-byte length framing and `setNoDelay`: a strict
 * ping-pong (one 128-byte frame in flight; p50/p99 round trip), pipelined small frames (64 in flight),
 * and 64 KiB frames (8 in flight) for bytes per second. The echo side runs in a worker thread.
 */
export const bench: Bench = {
  name: 'calibrate-loopback',
  description: 'loopback TCP ping-pong p50/p99 and throughput between two Node event loops',
  async run(ctx) {
    const small = 128;
    const bulk = 64 * 1024;
    const pingPongs = ctx.pick(5000, 300);
    const pipelined = ctx.pick(50_000, 2000);
    const bulkFrames = ctx.pick(4000, 200);
    ctx.params({
      framing: '4-byte BE length + payload',
      echoSide: 'worker thread (own event loop)',
      smallPayloadBytes: small,
      bulkPayloadBytes: bulk,
      pingPongsPerRep: pingPongs,
      pipelinedPerRep: pipelined,
      pipelineWindow: 64,
      bulkFramesPerRep: bulkFrames,
      bulkWindow: 8,
    });
    const worker = new Worker(ECHO_SERVER, { eval: true });
    try {
      const [port] = (await once(worker, 'message')) as [number];
      const socket = connect({ host: '127.0.0.1', port });
      await once(socket, 'connect');
      const client = new FramedClient(socket);
      try {
        const smallFrame = frameOf(small);
        const perCall: number[][] = [];
        const pp = await ctx.measure('ping-pong 128 B', { opsPerRep: pingPongs }, async () => {
          const rtts: number[] = [];
          await client.exchange(smallFrame, pingPongs, 1, ctx.signal, (t) => {
            rtts.push(Number(process.hrtime.bigint() - t) / 1e3);
          });
          perCall.push(rtts);
        });
        ctx.latency('ping-pong RTT 128 B', perCall.slice(pp.warmup).flat(), 'µs');
        await ctx.measure('pipelined 128 B ×64', { opsPerRep: pipelined }, () =>
          client.exchange(smallFrame, pipelined, 64, ctx.signal),
        );
        const b = await ctx.measure('bulk 64 KiB ×8', { opsPerRep: bulkFrames }, () =>
          client.exchange(frameOf(bulk), bulkFrames, 8, ctx.signal),
        );
        // Each frame crosses the loopback twice (there and back).
        ctx.result({ bulkMBpsEachWay: (b.opsPerSec.median * bulk) / 1e6 });
        ctx.ratio('pipelined vs ping-pong msgs/s', 'pipelined 128 B ×64', 'ping-pong 128 B');
      } finally {
        client.close();
      }
    } finally {
      worker.postMessage('stop');
      await Promise.race([once(worker, 'exit'), new Promise((r) => setTimeout(r, 1000).unref())]);
      await worker.terminate();
    }
  },
};
