import type net from 'node:net';
import type { Logger } from '@flotilla/types';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, RAFT_MAGIC } from '../src/index.ts';
import { Frame } from '../src/protocol.ts';
import { appendReq, closedWithin, pair, rawConnect, stillServes } from './helpers.ts';

function frame(body: unknown): Buffer {
  const b = pack(body);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(b.byteLength, 0);
  return Buffer.concat([head, b]);
}

function hello(
  overrides: Partial<{ cluster: string; to: string; kind: string; version: number }> = {},
): Buffer {
  return frame([
    Frame.Hello,
    overrides.version ?? PROTOCOL_VERSION,
    overrides.cluster ?? 'test',
    'a',
    overrides.to ?? 'b',
    overrides.kind ?? 'unary',
    null,
  ]);
}

/** Reads frames the server sends until it closes. */
function readAll(s: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('error', () => {});
    s.once('close', () => resolve(Buffer.concat(parts)));
  });
}

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

beforeAll(async () => {
  ctx = await pair({ handshakeTimeoutMs: 300, maxFrameBytes: 64 * 1024, logger });
});
afterAll(async () => {
  await ctx.close();
});

async function sendAndExpectClose(bytes: Buffer, end = false): Promise<Buffer> {
  const s = await rawConnect(ctx.port);
  const got = readAll(s);
  s.write(bytes);
  if (end) s.end();
  const closed = await closedWithin(s, 3_000);
  expect(closed).toBe(true);
  await stillServes(ctx.addr, ctx.port);
  return got;
}

describe('bad input never crashes the server', () => {
  it('random bytes, with and without the magic', async () => {
    const r = rng(1);
    const junk = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(r() * 256)));
    await sendAndExpectClose(junk);
    await sendAndExpectClose(Buffer.concat([RAFT_MAGIC, junk]));
  });

  it('a truncated frame (then silence, then a close)', async () => {
    const h = hello();
    await sendAndExpectClose(Buffer.concat([RAFT_MAGIC, h.subarray(0, h.byteLength - 3)]));
    await sendAndExpectClose(Buffer.concat([RAFT_MAGIC, h.subarray(0, 6)]), true);
  });

  it('a frame over the size limit', async () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(64 * 1024 + 1, 0);
    const before = warnings.length;
    await sendAndExpectClose(Buffer.concat([RAFT_MAGIC, head, Buffer.alloc(1024)]));
    expect(warnings.slice(before).join('\n')).toMatch(/exceeds the limit/);
  });

  it('a valid frame of the wrong type, before and after the handshake', async () => {
    const reply = await sendAndExpectClose(Buffer.concat([RAFT_MAGIC, frame([Frame.StreamEnd])]));
    expect(reply.toString('latin1')).toContain('protocol');
    await sendAndExpectClose(
      Buffer.concat([RAFT_MAGIC, hello(), frame([Frame.StreamRequest, appendReq(-1, 1)])]),
    );
    await sendAndExpectClose(
      Buffer.concat([RAFT_MAGIC, hello({ kind: 'stream' }), frame([Frame.Request, 1, 'vote', {}])]),
    );
    await sendAndExpectClose(Buffer.concat([RAFT_MAGIC, hello({ kind: 'snapshot' }), frame(['x'])]));
    await sendAndExpectClose(Buffer.concat([RAFT_MAGIC, hello(), frame({ not: 'an array' })]));
  });

  it('a wrong cluster id, version or target is refused with a reason and a log line', async () => {
    const before = warnings.length;
    for (const [h, reason] of [
      [hello({ cluster: 'other' }), 'cluster'],
      [hello({ version: 99 }), 'version'],
      [hello({ to: 'zz' }), 'target'],
      [hello({ kind: 'telnet' }), 'protocol'],
    ] as const) {
      const reply = await sendAndExpectClose(Buffer.concat([RAFT_MAGIC, h]));
      expect(reply.toString('latin1')).toContain(reason);
    }
    expect(warnings.slice(before).filter((w) => w.startsWith('handshake refused'))).toHaveLength(4);
  });

  it('a client that says nothing is closed after the handshake timeout', async () => {
    const s = await rawConnect(ctx.port);
    expect(await closedWithin(s, 5_000)).toBe(true);
    expect(warnings).toContain('handshake timeout');
    await stillServes(ctx.addr, ctx.port);
  });

  it('1,000 connections opened and dropped', async () => {
    for (let round = 0; round < 10; round++) {
      const socks = await Promise.all(Array.from({ length: 100 }, () => rawConnect(ctx.port)));
      for (const [i, s] of socks.entries()) {
        if (i % 2 === 0) s.write(RAFT_MAGIC);
        s.destroy();
      }
    }
    await stillServes(ctx.addr, ctx.port);
    const deadline = Date.now() + 5_000;
    while (ctx.server.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(ctx.server.connections).toBe(0);
  });

  it('a seeded fuzz of mutated frames', async () => {
    const r = rng(42);
    const good = [
      Buffer.concat([RAFT_MAGIC, hello(), frame([Frame.Request, 1, 'append', appendReq(3, 2, 16)])]),
      Buffer.concat([
        RAFT_MAGIC,
        hello({ kind: 'stream' }),
        frame([Frame.StreamRequest, appendReq(-1, 3, 8)]),
      ]),
      Buffer.concat([
        RAFT_MAGIC,
        hello(),
        frame([
          Frame.Request,
          7,
          'vote',
          { vote: { term: 1, nodeId: 'a', committed: false }, lastLogId: null },
        ]),
      ]),
    ];
    for (let i = 0; i < 150; i++) {
      const base = Buffer.from(good[i % good.length]!);
      const flips = 1 + Math.floor(r() * 4);
      for (let k = 0; k < flips; k++) base[Math.floor(r() * base.byteLength)] = Math.floor(r() * 256);
      const s = await rawConnect(ctx.port);
      s.on('error', () => {});
      s.on('data', () => {});
      s.write(base);
      if (i % 3 === 0) s.end();
      else setTimeout(() => s.destroy(), 20);
    }
    await new Promise((r) => setTimeout(r, 200));
    await stillServes(ctx.addr, ctx.port);
  });
});
