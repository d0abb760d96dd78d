import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { grpcServer } from '../src/index.ts';
import { type AppendEntriesRequest, appendReq, collect, pair, TestHandler } from './helpers.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function* requests(
  count: number,
  perRequest: number,
  bytes = 100,
): AsyncIterable<AppendEntriesRequest> {
  for (let i = 0; i < count; i++) yield appendReq(i * perRequest - 1, perRequest, bytes);
}

describe('streamAppend over a bidirectional call', () => {
  it('pipelines thousands of requests; replies are coalesced, cumulative and end the stream', async () => {
    const p = await pair();
    closers.push(p.close);
    const client = p.network.newClient('b', { addr: p.addr });
    const results = await collect(client.streamAppend(requests(5_000, 4), { timeoutMs: 10_000 }));
    expect(p.handler.streamed).toBe(5_000);
    expect(results.length).toBeGreaterThan(0);
    expect(results.length).toBeLessThan(5_000);
    expect(results.at(-1)).toEqual({ type: 'matched', matching: { term: 3, index: 19_999 } });
    const indexes = results.map((r) => (r.type === 'matched' ? (r.matching?.index ?? -1) : -2));
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
  });

  it('a follower that stops reading stalls the leader with bounded memory (HTTP/2 flow control)', async () => {
    const p = await pair({ streamReadAhead: 8 });
    closers.push(p.close);
    p.handler.stallAfter = 10;
    let produced = 0;
    async function* endless(): AsyncIterable<AppendEntriesRequest> {
      for (let i = 0; ; i++) {
        produced++;
        yield appendReq(i * 64 - 1, 64, 1000);
      }
    }
    const ac = new AbortController();
    const done = collect(
      p.network.newClient('b', { addr: p.addr }).streamAppend(endless(), { signal: ac.signal }),
    );
    done.catch(() => {});
    // Production must stop (nothing is read any more), then stay stopped.
    let before = -1;
    for (let i = 0; i < 50 && produced !== before; i++) {
      before = produced;
      await new Promise((r) => setTimeout(r, 300));
    }
    const stalledAt = produced;
    await new Promise((r) => setTimeout(r, 300));
    expect(produced).toBe(stalledAt);
    // ~64 KB per request: read-ahead, the grpc-js stream buffers and the HTTP/2 windows hold the rest.
    expect(produced).toBeLessThan(400);
    expect(p.handler.streamed).toBe(10);
    ac.abort(new Error('enough'));
    await expect(done).rejects.toThrow('enough');
  });

  it('fails cleanly when the server restarts mid-stream, then a new stream succeeds', async () => {
    const handler = new TestHandler();
    handler.stallAfter = 5;
    const p = await pair({ handler });
    closers.push(p.close);
    const client = p.network.newClient('b', { addr: p.addr });
    const err = collect(client.streamAppend(requests(1_000, 1), { timeoutMs: 10_000 })).catch(
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    await p.server.close();
    expect(await err).toMatchObject({ code: ErrorCode.Network });

    const again = grpcServer({ clusterId: 'test', nodeId: 'b', handler: new TestHandler() });
    closers.push(() => again.close());
    await again.listen(p.port, '127.0.0.1');
    // A new connection, so a new handshake: the old session died with the old connection.
    let results: unknown[] = [];
    for (let i = 0; i < 50; i++) {
      try {
        results = await collect(client.streamAppend(requests(100, 1), { timeoutMs: 10_000 }));
        break;
      } catch (e) {
        expect(e).toMatchObject({ code: ErrorCode.Unreachable }); // grpc-js still backing off
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(results.at(-1)).toEqual({ type: 'matched', matching: { term: 3, index: 99 } });
  });

  it('the timeout is an idle timer, not a deadline: a long stream outlives it', async () => {
    const p = await pair();
    closers.push(p.close);
    async function* slow(): AsyncIterable<AppendEntriesRequest> {
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 25));
        yield appendReq(i - 1, 1);
      }
    }
    p.handler.streamAppend = async function* (input) {
      for await (const req of input) yield { type: 'matched' as const, matching: req.entries[0]!.logId };
    };
    const t0 = Date.now();
    const results = await collect(
      p.network.newClient('b', { addr: p.addr }).streamAppend(slow(), { timeoutMs: 150 }),
    );
    expect(Date.now() - t0).toBeGreaterThan(250);
    expect(results.at(-1)).toEqual({ type: 'matched', matching: { term: 3, index: 11 } });
  });

  it('a request over the size cap fails the stream with a NETWORK error before it is sent', async () => {
    const p = await pair({}, { maxMessageBytes: 64 * 1024 });
    closers.push(p.close);
    async function* big(): AsyncIterable<AppendEntriesRequest> {
      yield appendReq(-1, 1);
      yield appendReq(0, 1, 100_000);
    }
    const err = await collect(p.network.newClient('b', { addr: p.addr }).streamAppend(big())).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: ErrorCode.Network, name: 'FrameError' });
  });
});
