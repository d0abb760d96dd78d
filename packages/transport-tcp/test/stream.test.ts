import { ErrorCode, type StreamAppendResult } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpServer } from '../src/index.ts';
import { type AppendEntriesRequest, appendReq, pair, TestHandler } from './helpers.ts';

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

async function collect(it: AsyncIterable<StreamAppendResult>): Promise<StreamAppendResult[]> {
  const out: StreamAppendResult[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('streamAppend', () => {
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

  it('ends after a conflict', async () => {
    const p = await pair();
    closers.push(p.close);
    p.handler.conflictAt = 3;
    const results = await collect(p.network.newClient('b', { addr: p.addr }).streamAppend(requests(100, 1)));
    expect(results.at(-1)).toEqual({ type: 'conflict', logId: { term: 3, index: 1 } });
  });

  it('stalls with bounded memory when the follower stops reading', async () => {
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
    // Wait until production stops (it must: nothing is read), then check it stays stopped.
    let before = -1;
    for (let i = 0; i < 50 && produced !== before; i++) {
      before = produced;
      await new Promise((r) => setTimeout(r, 300));
    }
    const stalledAt = produced;
    await new Promise((r) => setTimeout(r, 300));
    expect(produced).toBe(stalledAt);
    // ~64 KB per request: only the socket buffers on both sides hold what was produced.
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

    const again = tcpServer({ clusterId: 'test', nodeId: 'b', handler: new TestHandler() });
    closers.push(() => again.close());
    await again.listen(p.port, '127.0.0.1');
    const results = await collect(client.streamAppend(requests(100, 1), { timeoutMs: 10_000 }));
    expect(results.at(-1)).toEqual({ type: 'matched', matching: { term: 3, index: 99 } });
  });

  it('times out when no reply comes while requests are outstanding', async () => {
    const p = await pair();
    closers.push(p.close);
    p.handler.stallAfter = 1;
    const err = await collect(
      p.network.newClient('b', { addr: p.addr }).streamAppend(requests(3, 1), { timeoutMs: 100 }),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.RpcTimeout });
  });

  it('delivers a malformed stream request as sent (the handler validates, not the transport)', async () => {
    const p = await pair();
    closers.push(p.close);
    const skipping = { ...appendReq(5, 1), entries: appendReq(10, 1).entries };
    async function* requests(): AsyncIterable<AppendEntriesRequest> {
      yield appendReq(-1, 2);
      yield skipping;
    }
    const results = await collect(p.network.newClient('b', { addr: p.addr }).streamAppend(requests()));
    expect(p.handler.streamed).toBe(2);
    expect(results[results.length - 1]).toEqual({ type: 'matched', matching: { term: 3, index: 11 } });
  });
});
