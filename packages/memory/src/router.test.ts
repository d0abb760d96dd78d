import {
  type AppendEntriesRequest,
  ErrorCode,
  hasErrorCode,
  type StreamAppendResult,
  snapshotDataOf,
} from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { nextTurn, recordingHandler, VirtualScheduler } from '../test/router-fixtures.ts';
import { MemoryRouter } from './router.ts';

const vote = { term: 1, nodeId: 'a', committed: false };
const leader = { term: 1, nodeId: 'a', committed: true };

function req(prev: number, n: number): AppendEntriesRequest {
  const entries = Array.from({ length: n }, (_, i) => ({
    logId: { term: 1, index: prev + 1 + i },
    payload: { type: 'blank' as const },
  }));
  return { vote: leader, prevLogId: prev < 0 ? null : { term: 1, index: prev }, entries, leaderCommit: null };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return hasErrorCode(e) ? e.code : `other: ${String(e)}`;
  }
}

function pair(opts: ConstructorParameters<typeof MemoryRouter>[0] = {}) {
  const router = new MemoryRouter(opts);
  const ha = recordingHandler();
  const hb = recordingHandler();
  router.register('a', ha);
  router.register('b', hb);
  const ab = router.factory('a').newClient('b', { addr: 'b' });
  const ba = router.factory('b').newClient('a', { addr: 'a' });
  return { router, ha, hb, ab, ba };
}

describe('MemoryRouter faults', () => {
  it('isolate cuts both directions until healed', async () => {
    const { router, ab, ba } = pair();
    router.isolate('b');
    expect(await codeOf(ab.vote({ vote, lastLogId: null }))).toBe(ErrorCode.Unreachable);
    expect(await codeOf(ba.vote({ vote, lastLogId: null }))).toBe(ErrorCode.Unreachable);
    router.heal('b');
    expect(await codeOf(ab.vote({ vote, lastLogId: null }))).toBe('resolved');
  });

  it('blockLink fails one direction only; a blocked reply path loses the reply', async () => {
    const { router, ab, ba, ha, hb } = pair();
    router.blockLink('a', 'b');
    expect(await codeOf(ab.appendEntries(req(-1, 1)))).toBe(ErrorCode.Unreachable);
    expect(hb.appends.length).toBe(0);
    // b -> a requests arrive, but a's replies travel the blocked direction and are lost.
    expect(await codeOf(ba.appendEntries(req(-1, 1)))).toBe(ErrorCode.Network);
    expect(ha.appends.length).toBe(1);
    router.unblockLink('a', 'b');
    router.blockLink('b', 'a');
    // The request reaches b, but its reply cannot travel back.
    expect(await codeOf(ab.appendEntries(req(-1, 2)))).toBe(ErrorCode.Network);
    expect(hb.appends.length).toBe(1);
    router.heal();
    expect(await codeOf(ab.appendEntries(req(-1, 2)))).toBe('resolved');
  });

  it('setUnreachable fails calls to the node but not from it', async () => {
    const { router, ab, ba } = pair();
    router.setUnreachable('b');
    expect(await codeOf(ab.vote({ vote, lastLogId: null }))).toBe(ErrorCode.Unreachable);
    expect(await codeOf(ba.vote({ vote, lastLogId: null }))).toBe('resolved');
    router.setUnreachable('b', false);
    expect(await codeOf(ab.vote({ vote, lastLogId: null }))).toBe('resolved');
  });

  it('drops the configured share of messages, reproducibly for a seed', async () => {
    const run = async (seed: number) => {
      const { router, ab } = pair({ seed });
      router.setDropRate(0.5);
      const codes = [];
      for (let i = 0; i < 40; i++) codes.push(await codeOf(ab.vote({ vote, lastLogId: null })));
      return codes;
    };
    const a = await run(42);
    expect(a).toEqual(await run(42));
    const lost = a.filter((c) => c === ErrorCode.Network).length;
    expect(lost).toBeGreaterThan(5);
    expect(lost).toBeLessThan(35);
    expect(a.filter((c) => c !== ErrorCode.Network && c !== 'resolved')).toEqual([]);
    expect(() => pair().router.setDropRate(2)).toThrow(RangeError);
  });

  it('delays messages on the injected scheduler and times out on it', async () => {
    const clock = new VirtualScheduler();
    const { router, ab } = pair({ scheduler: clock });
    router.setDelay(10, 10);
    let done = false;
    const p = ab.vote({ vote, lastLogId: null }).then(() => (done = true));
    await clock.advance(15);
    expect(done).toBe(false);
    await clock.advance(10);
    expect(done).toBe(true);
    await p;
    const slow = codeOf(ab.vote({ vote, lastLogId: null }, { timeoutMs: 15 }));
    await clock.advance(30);
    expect(await slow).toBe(ErrorCode.RpcTimeout);
    expect(() => router.setDelay(5, 1)).toThrow(RangeError);
  });

  it('an append quota cuts AppendEntries into partialSuccess', async () => {
    const { router, ab, hb } = pair();
    router.setAppendQuota('b', 3);
    expect(await ab.appendEntries(req(-1, 2))).toEqual({ type: 'success' });
    expect(router.appendQuota('b')).toBe(1);
    expect(await ab.appendEntries(req(1, 4))).toEqual({
      type: 'partialSuccess',
      matching: { term: 1, index: 2 },
    });
    expect(hb.appends[1]!.entries.length).toBe(1);
    expect(await ab.appendEntries(req(2, 2))).toEqual({
      type: 'partialSuccess',
      matching: { term: 1, index: 2 },
    });
    router.setAppendQuota('b', null);
    expect(await ab.appendEntries(req(2, 2))).toEqual({ type: 'success' });
  });

  it('runs before and after hooks, which can fail a call, and counts per kind', async () => {
    const { router, ab, ba } = pair();
    const seen: string[] = [];
    const off = router.before('vote', (ctx) => {
      seen.push(`${ctx.from}->${ctx.to}`);
      if (ctx.from === 'b') throw new Error('injected');
    });
    router.after('vote', (ctx) => {
      seen.push(`answered ${JSON.stringify((ctx.response as { voteGranted: boolean }).voteGranted)}`);
    });
    await ab.vote({ vote, lastLogId: null });
    await expect(ba.vote({ vote, lastLogId: null })).rejects.toThrow('injected');
    off();
    await ba.vote({ vote, lastLogId: null });
    expect(seen).toEqual(['a->b', 'answered true', 'b->a', 'answered true']);
    await ab.appendEntries(req(-1, 1));
    await ab.fullSnapshot(
      leader,
      {
        meta: {
          lastLogId: null,
          lastMembership: { logId: null, membership: { configs: [], nodes: {} } },
          snapshotId: 's',
        },
        data: snapshotDataOf(new Uint8Array(10)),
      },
      { chunkBytes: 3 },
    );
    await ab.transferLeader!({ from: leader, to: 'b', lastLogId: null });
    expect(router.counts()).toEqual({
      appendEntries: 1,
      vote: 2,
      fullSnapshot: 1,
      transferLeader: 1,
      streamAppend: 0,
    });
    expect(router.count('vote', { from: 'a' })).toBe(1);
    expect(router.count('vote', { to: 'a' })).toBe(1);
    router.resetCounts();
    expect(router.count('vote')).toBe(0);
  });

  it('copies messages as a wire would', async () => {
    const { ab, hb } = pair();
    const r = req(-1, 2);
    await ab.appendEntries(r);
    r.entries.length = 0;
    expect(hb.appends[0]!.entries.length).toBe(2);
    expect(hb.appends[0]).not.toBe(r);
  });

  it('can leave streamAppend out of new clients', () => {
    const { router } = pair();
    expect(router.factory('a').newClient('b', { addr: 'b' }).streamAppend).toBeTypeOf('function');
    router.setStreamAppend(false);
    expect(router.factory('a').newClient('b', { addr: 'b' }).streamAppend).toBeUndefined();
  });
});

describe('MemoryRouter streams', () => {
  async function* gen(reqs: AppendEntriesRequest[]): AsyncIterable<AppendEntriesRequest> {
    yield* reqs;
  }

  it('pipelines requests, counts each, and coalesces acks a slow reader has not taken', async () => {
    const { router, ab, hb } = pair();
    const reqs = Array.from({ length: 20 }, (_, i) => req(i - 1, 1));
    const it = ab.streamAppend!(gen(reqs))[Symbol.asyncIterator]();
    const out: StreamAppendResult[] = [];
    const first = await it.next();
    if (!first.done) out.push(first.value);
    // The reader dawdles: acks pile up and are coalesced when it comes back.
    for (let i = 0; i < 10; i++) await nextTurn();
    for (;;) {
      const n = await it.next();
      if (n.done) break;
      out.push(n.value);
    }
    expect(hb.streamed.length).toBe(20);
    expect(out.length).toBeLessThan(20);
    expect(out[out.length - 1]).toEqual({ type: 'matched', matching: { term: 1, index: 19 } });
    expect(router.count('streamAppend')).toBe(20);
    expect(router.streamsOpened).toBe(1);
  });

  it('holds a stream request that does not fit the quota until the quota grows', async () => {
    const { router, ab, hb } = pair();
    router.setAppendQuota('b', 3);
    const results: StreamAppendResult[] = [];
    const done = (async () => {
      for await (const r of ab.streamAppend!(gen([req(-1, 2), req(1, 2)]))) results.push(r);
    })();
    for (let i = 0; i < 5; i++) await nextTurn();
    expect(hb.streamed.length).toBe(1);
    router.setAppendQuota('b', 10);
    await done;
    expect(hb.streamed.length).toBe(2);
    expect(results[results.length - 1]).toEqual({ type: 'matched', matching: { term: 1, index: 3 } });
  });

  it('breaks a stream whose link fails mid-way with NetworkError', async () => {
    const { router, ab } = pair();
    async function* slow(): AsyncIterable<AppendEntriesRequest> {
      yield req(-1, 1);
      await nextTurn();
      router.isolate('b');
      yield req(0, 1);
    }
    const got: StreamAppendResult[] = [];
    const code = await codeOf(
      (async () => {
        for await (const r of ab.streamAppend!(slow())) got.push(r);
      })(),
    );
    expect(code).toBe(ErrorCode.Network);
  });

  it('keeps stream order under random delays on a virtual clock', async () => {
    const clock = new VirtualScheduler();
    const { router, ab, hb } = pair({ scheduler: clock, seed: 3 });
    router.setDelay(1, 50);
    const reqs = Array.from({ length: 30 }, (_, i) => req(i - 1, 1));
    const results: StreamAppendResult[] = [];
    let finished = false;
    const done = (async () => {
      for await (const r of ab.streamAppend!(gen(reqs), { timeoutMs: 1_000 })) results.push(r);
    })().finally(() => (finished = true));
    for (let t = 0; t < 200 && !finished; t++) await clock.advance(25);
    await done;
    expect(hb.streamed.map((r) => r.entries[0]!.logId.index)).toEqual(reqs.map((_, i) => i));
    const idx = results.map((r) => (r.type === 'matched' ? (r.matching?.index ?? -1) : -2));
    expect(idx).toEqual([...idx].sort((x, y) => x - y));
    expect(idx[idx.length - 1]).toBe(29);
  });
});
