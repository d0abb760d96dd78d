import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, kv, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('client API', () => {
  it('a write resolves after apply with its log id and the state machine response', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    const first = await l.clientWrite({ key: 'x', value: 1 });
    const second = await l.clientWrite({ key: 'x', value: 2 });
    expect(first.response).toBeNull();
    expect(second.response).toBe(1);
    expect(second.logId.index).toBe(first.logId.index + 1);
    expect(l.metrics.current.lastApplied?.index).toBeGreaterThanOrEqual(second.logId.index);
  });

  it('clientWriteMany proposes a batch in order and answers each write', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    const res = await l.clientWriteMany([1, 2, 3, 4, 5].map((v) => ({ key: 'k', value: v })));
    expect(res.map((r) => r.response)).toEqual([null, 1, 2, 3, 4]);
    expect(res.map((r) => r.logId.index)).toEqual(res.map((_, i) => (res[0]?.logId.index ?? 0) + i));
    await c.applied(res[4]?.logId.index ?? 0);
    for (const n of c.nodes.values()) expect(kv(n)).toEqual({ k: 5 });
    expect(await l.clientWriteMany([])).toEqual([]);
  });

  it('a follower refuses writes with ForwardToLeader naming the leader and its node', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const leader = await c.leader();
    const follower = ['a', 'b', 'c'].find((id) => id !== leader) as string;
    await c.raft(follower).wait(WAIT).currentLeader(leader);
    const err = await c
      .raft(follower)
      .clientWrite({ key: 'x', value: 1 })
      .catch((e: unknown) => e as { code: string; leaderId: string; leaderNode: unknown });
    expect(err).toMatchObject({
      code: ErrorCode.ForwardToLeader,
      leaderId: leader,
      leaderNode: { addr: leader },
    });
    expect(await codeOf(c.raft(follower).ensureLinearizable())).toBe(ErrorCode.ForwardToLeader);
  });

  it('a write retried with the same (clientId, sequence) is applied once and answers the first response', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    const w1 = await l.clientWrite({ key: 'x', value: 10 }, { clientId: 'c1', sequence: 1 });
    const retry = await l.clientWrite({ key: 'x', value: 10 }, { clientId: 'c1', sequence: 1 });
    const w2 = await l.clientWrite({ key: 'x', value: 20 }, { clientId: 'c1', sequence: 2 });
    const stale = await l.clientWrite({ key: 'x', value: 99 }, { clientId: 'c1', sequence: 1 });
    expect([w1.response, retry.response, w2.response, stale.response]).toEqual([null, null, 10, undefined]);
    await c.applied(stale.logId.index);
    for (const n of c.nodes.values()) {
      expect(kv(n)).toEqual({ x: 20 });
      expect(n.applied.map((a) => a.cmd.value)).toEqual([10, 20]);
    }
    expect(await codeOf(l.clientWrite({ key: 'x', value: 1 }, { clientId: 'c1' }))).toBe(
      ErrorCode.InvalidRequest,
    );
    expect(await codeOf(l.clientWrite({ key: 'x', value: 1 }, { clientId: '', sequence: 1 }))).toBe(
      ErrorCode.InvalidRequest,
    );
  });

  it('refuses an entry over maxEntryBytes and fails fast with Overloaded beyond maxPendingWrites', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { config: { maxEntryBytes: 64, maxPendingWrites: 10 } });
    const l = c.raft(await c.leader());
    expect(await codeOf(l.clientWrite({ key: 'x'.repeat(100), value: 1 }))).toBe(ErrorCode.EntryTooLarge);
    const many = l.clientWriteMany(Array.from({ length: 11 }, (_, i) => ({ key: 'k', value: i })));
    expect(await codeOf(many)).toBe(ErrorCode.Overloaded);
    const ok = await l.clientWriteMany(Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: i })));
    expect(ok).toHaveLength(10);
  });

  it('read-index and lease reads return a read point that covers every acknowledged write', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    const w = await l.clientWrite({ key: 'x', value: 1 });
    const ri = await l.ensureLinearizable({ policy: 'readIndex' });
    const lease = await l.ensureLinearizable({ policy: 'lease' });
    expect(ri?.index).toBeGreaterThanOrEqual(w.logId.index);
    expect(lease?.index).toBeGreaterThanOrEqual(w.logId.index);
  });

  it('a deposed leader cut off from the quorum refuses read-index and lease reads', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const old = await c.leader();
    await c.raft(old).clientWrite({ key: 'x', value: 1 });
    c.router.isolate(old);
    const others = ['a', 'b', 'c'].filter((id) => id !== old);
    const next = await c.leader(others);
    expect(next).not.toBe(old);
    await c.raft(next).clientWrite({ key: 'x', value: 2 });
    // Wait past the lease: the old leader (check-quorum) steps down or can no longer confirm.
    const codes = [
      await codeOf(c.raft(old).ensureLinearizable({ policy: 'readIndex' })),
      await codeOf(c.raft(old).ensureLinearizable({ policy: 'lease' })),
    ];
    for (const code of codes)
      expect([ErrorCode.ForwardToLeader, ErrorCode.NotLeader, ErrorCode.Timeout]).toContain(code);
    c.router.heal();
  });

  it('a follower read through the leader linearizer sees every write acknowledged before it', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const leader = await c.leader();
    const follower = c.node(['a', 'b', 'c'].find((id) => id !== leader) as string);
    for (let i = 1; i <= 20; i++) await c.raft(leader).clientWrite({ key: 'x', value: i });
    const lin = await c.raft(leader).getReadLinearizer();
    // every write was applied on the leader before it answered: the linearizer says so
    expect(lin.applied?.index).toBeGreaterThanOrEqual(lin.readLogId?.index ?? 0);
    expect(lin.applied).toEqual(c.raft(leader).metrics.current.lastApplied);
    // The follower waits until it applied the leader's read point, then reads locally.
    await follower.raft.wait(WAIT).appliedIndex(lin.readLogId?.index ?? 0);
    expect(kv(follower).x).toBe(20);
  });

  it('transferLeader hands leadership to the named follower', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const old = await c.leader();
    const to = ['a', 'b', 'c'].find((id) => id !== old) as string;
    await c.raft(old).clientWrite({ key: 'x', value: 1 });
    await c.raft(old).trigger.transferLeader(to);
    await c.raft(to).wait(WAIT).state('Leader');
    await c.raft(old).wait(WAIT).currentLeader(to);
    const w = await c.raft(to).clientWrite({ key: 'x', value: 2 });
    expect(w.response).toBe(1);
  });

  it('writes of a leader that loses the quorum fail with OutcomeUnknown and its uncommitted log reverts', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const old = await c.leader();
    const base = await c.raft(old).clientWrite({ key: 'x', value: 1 });
    c.router.isolate(old);
    const lost = [1, 2, 3].map((v) => c!.raft(old).clientWrite({ key: 'lost', value: v }));
    const others = ['a', 'b', 'c'].filter((id) => id !== old);
    const next = await c.leader(others);
    for (const p of lost) expect(await codeOf(p)).toBe(ErrorCode.OutcomeUnknown);
    const w = await c.raft(next).clientWrite({ key: 'y', value: 1 });
    c.router.heal();
    await c.applied(w.logId.index);
    // The old leader's uncommitted entries were replaced by the new leader's log.
    for (const n of c.nodes.values()) expect(kv(n)).toEqual({ x: 1, y: 1 });
    expect(w.logId.index).toBeGreaterThan(base.logId.index);
  });
});
