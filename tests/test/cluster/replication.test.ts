import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, delay, kv, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  c?.router.heal();
  await c?.shutdown();
  c = null;
});

describe('replication', () => {
  it('partial success: a follower that accepts only part of each AppendEntries still converges', async () => {
    c = new TestCluster({ maxPayloadEntries: 50 });
    c.router.setStreamAppend(false); // unary AppendEntries: the router answers partialSuccess over the quota
    for (const id of ['a', 'b', 'c']) await c.start(id);
    await c.raft('a').initialize({ a: { addr: 'a' }, b: { addr: 'b' }, c: { addr: 'c' } });
    const l = await c.leader();
    const f = ['a', 'b', 'c'].find((id) => id !== l) as string;
    c.router.setAppendQuota(f, 7);
    const w = await c
      .raft(l)
      .clientWriteMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: i })));
    const last = w[99]?.logId.index ?? 0;
    let grants = 1;
    while ((c.raft(f).metrics.current.lastLogIndex ?? 0) < last && grants < 100) {
      if (c.router.appendQuota(f) === 0) {
        c.router.setAppendQuota(f, 7);
        grants++;
      }
      await delay(5);
    }
    c.router.setAppendQuota(f, null);
    await c.applied(last, [f]);
    expect(grants).toBeGreaterThan(5); // many partial successes were needed
    expect(kv(c.node(f))).toEqual(kv(c.node(l)));
  });

  it('a follower that was unreachable is backed off, then rejoins and catches up; later writes flow at once', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = await c.leader();
    const f = ['a', 'b', 'c'].find((id) => id !== l) as string;
    c.router.setUnreachable(f);
    const w = await c.raft(l).clientWriteMany(Array.from({ length: 30 }, (_, i) => ({ key: 'k', value: i })));
    c.router.setUnreachable(f, false);
    await c.applied(w[29]?.logId.index ?? 0, [f]);
    // Back-off is cleared after the success: a new write reaches the follower promptly.
    const w2 = await c.raft(l).clientWrite({ key: 'k', value: 100 });
    await c.applied(w2.logId.index, [f]);
    expect(kv(c.node(f))).toEqual({ k: 100 });
  });

  it('a log storage read error on the leader stops it with a fatal Storage error', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.node(await c.leader());
    l.store.failNext('read');
    const w = codeOf(l.raft.clientWriteMany(Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: i }))));
    const m = await l.raft
      .wait(WAIT)
      .until((x) => x.error !== null, 'a fatal error')
      .catch(() => l.raft.metrics.current);
    expect(m.error?.code).toBe(ErrorCode.Storage);
    expect(l.raft.metrics.current.state).toBe('Shutdown');
    expect([ErrorCode.OutcomeUnknown, ErrorCode.Stopped]).toContain(await w);
  });

  it('a log append error stops the node before anything after it is written', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.node(await c.leader());
    const before = l.store.durableState().entries.length;
    l.store.failNext('append');
    const w = codeOf(l.raft.clientWrite({ key: 'k', value: 1 }));
    await l.raft
      .wait(WAIT)
      .until((x) => x.error !== null)
      .catch(() => null);
    expect(l.raft.metrics.current.error?.code).toBe(ErrorCode.Storage);
    expect([ErrorCode.OutcomeUnknown, ErrorCode.Stopped]).toContain(await w);
    expect(l.store.durableState().entries.length).toBe(before);
  });
});
