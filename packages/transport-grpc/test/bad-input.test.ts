import net from 'node:net';
import { ErrorCode, type Logger, silentLogger } from '@flotilla/types';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerChannel } from '../src/channel.ts';
import { HTTP2_PREFACE } from '../src/index.ts';
import { raftService } from '../src/service.ts';
import { appendReq, closedWithin, pair, rawConnect, stillServes } from './helpers.ts';

/** A deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const warnings: string[] = [];
const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
let ctx: Awaited<ReturnType<typeof pair>>;
let session: PeerChannel;

beforeAll(async () => {
  ctx = await pair({ handshakeTimeoutMs: 300, maxMessageBytes: 64 * 1024, logger });
  // A channel that did a real handshake, then sends raw bytes.
  session = new PeerChannel(
    ctx.addr,
    credentials.createInsecure(),
    {},
    {
      clusterId: 'test',
      from: 'a',
      to: 'b',
      kind: 'unary',
      secret: undefined,
      connectTimeoutMs: 5_000,
      logger: silentLogger,
    },
  );
  await session.ready();
});
afterAll(async () => {
  session.close();
  await ctx.close();
});

const raw = (b: Buffer) => b;

function rawUnary(path: string, bytes: Buffer): Promise<ServiceError | null> {
  return new Promise((resolve) =>
    session.client.makeUnaryRequest(path, raw, raw, bytes, new Metadata(), {}, (e) => resolve(e)),
  );
}

async function sendAndExpectClose(bytes: Buffer): Promise<void> {
  const s = await rawConnect(ctx.port);
  s.write(bytes);
  expect(await closedWithin(s, 3_000)).toBe(true);
  await stillServes(ctx.addr);
}

describe('bad input never crashes the server', () => {
  it('random bytes, with and without the HTTP/2 preface', async () => {
    const r = rng(1);
    const junk = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(r() * 256)));
    await sendAndExpectClose(junk);
    await sendAndExpectClose(Buffer.concat([HTTP2_PREFACE, junk]));
  });

  it('undecodable messages fail their call only', async () => {
    const garbage = Buffer.from([0xc1, 0xff, 0x00, 0x13]);
    expect((await rawUnary(raftService.vote.path, garbage))?.code).toBe(status.INTERNAL);
    expect((await rawUnary(raftService.appendEntries.path, garbage))?.code).toBe(status.INTERNAL);
    expect((await rawUnary('/flotilla.raft.v1.Raft/Nope', garbage))?.code).toBe(status.UNIMPLEMENTED);

    const m = raftService.streamAppend;
    const call = session.client.makeBidiStreamRequest(m.path, raw, raw);
    call.on('error', () => {});
    const ended = new Promise<{ code: number }>((r) => call.on('status', r));
    call.write(garbage);
    expect((await ended).code).toBe(status.INVALID_ARGUMENT);
    expect(warnings.join('\n')).toMatch(/undecodable stream message/);
    await stillServes(ctx.addr);
  });

  it('messages out of order are refused (a snapshot without its head, a handshake that is no hello)', async () => {
    const snap = raftService.installSnapshot;
    const err = await new Promise<ServiceError | null>((resolve) => {
      const call = session.client.makeClientStreamRequest(
        snap.path,
        snap.requestSerialize,
        snap.responseDeserialize,
        new Metadata(),
        {},
        (e) => resolve(e),
      );
      call.write([1, new Uint8Array(8)]);
      call.end();
    });
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    const hs = raftService.handshake;
    const call = session.client.makeBidiStreamRequest(hs.path, hs.requestSerialize, hs.responseDeserialize);
    call.on('error', () => {});
    const ended = new Promise<{ code: number; metadata: Metadata }>((r) => call.on('status', r));
    call.write({ not: 'a hello' });
    const s = await ended;
    expect(s.metadata.get('flotilla-handshake-reason')).toEqual(['protocol']);
    await stillServes(ctx.addr);
  });

  it('content is not validated here: a well-framed malformed request reaches the handler', async () => {
    const before = ctx.handler.appended.length;
    const err = await rawUnary(raftService.appendEntries.path, Buffer.from([0x81, 0xa1, 0x78, 0x01])); // {x: 1}
    expect(ctx.handler.appended.slice(before)).toEqual([{ x: 1 }]);
    expect(err?.code).toBe(status.UNKNOWN); // the handler threw; its error travelled back
  });

  it('a message over the size limit is refused, and the server goes on', async () => {
    const big = ctx.network.newClient('b', { addr: ctx.addr });
    // This client accepts 16 MiB; the server's cap is 64 KiB.
    await expect(big.appendEntries(appendReq(-1, 1, 100_000))).rejects.toMatchObject({
      code: ErrorCode.Network,
    });
    await expect(big.appendEntries(appendReq(-1, 1, 1_000))).resolves.toEqual({ type: 'success' });
    await big.close();
  });

  it('a client that never completes a handshake is closed after the handshake timeout', async () => {
    const silent = await rawConnect(ctx.port);
    expect(await closedWithin(silent, 5_000)).toBe(true);
    const preface = await rawConnect(ctx.port);
    preface.write(HTTP2_PREFACE);
    expect(await closedWithin(preface, 5_000)).toBe(true);
    expect(warnings.filter((w) => w === 'handshake timeout').length).toBeGreaterThanOrEqual(2);
    await stillServes(ctx.addr);
  });

  it('1,000 connections opened and dropped', async () => {
    for (let round = 0; round < 10; round++) {
      const socks = await Promise.all(Array.from({ length: 100 }, () => rawConnect(ctx.port)));
      for (const [i, s] of socks.entries()) {
        s.on('error', () => {});
        if (i % 2 === 0) s.write(HTTP2_PREFACE);
        s.destroy();
      }
    }
    await stillServes(ctx.addr);
    const deadline = Date.now() + 5_000;
    // Only the test's own session stays open.
    while (ctx.server.connections > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(ctx.server.connections).toBe(1);
  });

  it('a seeded fuzz of mutated client bytes', async () => {
    // Record what a good client sends: preface, settings, handshake, a vote, an append.
    const recorded: Buffer[] = [];
    const recorder = net.createServer((down) => {
      const up = net.connect({ host: '127.0.0.1', port: ctx.port });
      down.on('data', (d: Buffer) => recorded.push(d));
      down.pipe(up).pipe(down);
      for (const s of [down, up]) s.on('error', () => {});
    });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
    await stillServes(`127.0.0.1:${(recorder.address() as net.AddressInfo).port}`);
    recorder.close();
    const good = Buffer.concat(recorded);
    expect(good.subarray(0, HTTP2_PREFACE.byteLength)).toEqual(Buffer.from(HTTP2_PREFACE));
    const r = rng(42);
    for (let i = 0; i < 150; i++) {
      const bytes = Buffer.from(good);
      const flips = 1 + Math.floor(r() * 4);
      for (let k = 0; k < flips; k++) {
        const at = HTTP2_PREFACE.byteLength + Math.floor(r() * (bytes.byteLength - HTTP2_PREFACE.byteLength));
        bytes[at] = Math.floor(r() * 256);
      }
      const s = await rawConnect(ctx.port);
      s.on('error', () => {});
      s.on('data', () => {});
      s.write(bytes);
      if (i % 3 === 0) s.end();
      else setTimeout(() => s.destroy(), 20);
    }
    await new Promise((r) => setTimeout(r, 200));
    await stillServes(ctx.addr);
  });
});
