import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, kv, nodesOf, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('life cycle', () => {
  it('initialize is refused a second time and when this node is not among the voters', async () => {
    c = new TestCluster();
    for (const id of ['a', 'b', 'c']) await c.start(id);
    const notMember = await c
      .raft('a')
      .initialize(nodesOf(['b', 'c']))
      .catch((e: unknown) => e);
    expect(notMember).toMatchObject({ code: ErrorCode.Initialize, reason: 'NotInMembers' });
    await c.raft('a').initialize(nodesOf(['a', 'b', 'c']));
    await c.leader();
    const twice = await c
      .raft('a')
      .initialize(nodesOf(['a', 'b', 'c']))
      .catch((e: unknown) => e);
    expect(twice).toMatchObject({ code: ErrorCode.Initialize, reason: 'NotAllowed' });
  });

  it('shutdown fails in-flight writes with a clear error and every later call with Stopped', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const leader = await c.leader();
    const l = c.node(leader);
    l.store.hold(); // writes stay unflushed: they cannot commit before the shutdown
    const inflight = codeOf(l.raft.clientWrite({ key: 'x', value: 1 }));
    await l.raft.shutdown();
    expect([ErrorCode.OutcomeUnknown, ErrorCode.Stopped]).toContain(await inflight);
    expect(await codeOf(l.raft.clientWrite({ key: 'y', value: 1 }))).toBe(ErrorCode.Stopped);
    expect(await codeOf(l.raft.ensureLinearizable())).toBe(ErrorCode.Stopped);
    expect(await codeOf(l.raft.trigger.elect())).toBe(ErrorCode.Stopped);
    expect(await codeOf(l.raft.wait(WAIT).appliedIndex(1_000))).toBe(ErrorCode.Stopped);
    expect(l.raft.metrics.current.state).toBe('Shutdown');
    await l.raft.shutdown(); // idempotent
  });

  it('a restarted follower recovers its log and applies what it missed', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const leader = await c.leader();
    const f = ['a', 'b', 'c'].find((id) => id !== leader) as string;
    await c.raft(leader).clientWriteMany([1, 2, 3].map((v) => ({ key: 'k', value: v })));
    const state = await c.crash(f);
    const w = await c.raft(leader).clientWriteMany([4, 5].map((v) => ({ key: 'k', value: v })));
    await c.start(f, { state });
    await c.applied(w[1]?.logId.index ?? 0, [f]);
    expect(kv(c.node(f))).toEqual({ k: 5 });
  });

  it('a restarted leader rejoins as follower of the new leader and catches up', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const old = await c.leader();
    await c.raft(old).clientWrite({ key: 'x', value: 1 });
    const state = await c.crash(old);
    const rest = ['a', 'b', 'c'].filter((id) => id !== old);
    const next = await c.leader(rest);
    const w = await c.raft(next).clientWrite({ key: 'x', value: 2 });
    await c.start(old, { state });
    await c.applied(w.logId.index);
    expect(kv(c.node(old))).toEqual({ x: 2 });
    expect(c.raft(old).metrics.current.currentLeader).toBe(next);
  });

  it('a single-node cluster restarted from its log re-applies every committed entry', async () => {
    c = await TestCluster.create(['solo']);
    const res = await c.raft('solo').clientWriteMany([1, 2, 3].map((v) => ({ key: `k${v}`, value: v })));
    const state = await c.crash('solo');
    const n = await c.start('solo', { state });
    await c.leader();
    await n.raft.wait(WAIT).appliedIndex(res[2]?.logId.index ?? 0);
    expect(kv(n)).toEqual({ k1: 1, k2: 2, k3: 3 });
    const more = await n.raft.clientWrite({ key: 'k4', value: 4 });
    expect(more.logId.index).toBeGreaterThan(res[2]?.logId.index ?? 0);
  });

  it('a transient state machine is restored from its snapshot at restart, then re-applies the log after it', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { config: { maxInSnapshotLogToKeep: 0 } });
    const leader = await c.leader();
    const f = ['a', 'b', 'c'].find((id) => id !== leader) as string;
    const w = await c.raft(leader).clientWriteMany([1, 2, 3, 4].map((v) => ({ key: `k${v}`, value: v })));
    await c.applied(w[3]?.logId.index ?? 0);
    const snap = await c.raft(f).trigger.snapshot();
    expect(await c.raft(f).trigger.purgeLog(snap?.index ?? 0)).toEqual(snap);
    const w2 = await c.raft(leader).clientWrite({ key: 'k5', value: 5 });
    await c.applied(w2.logId.index, [f]);
    // The log before the snapshot is gone: only the snapshot can rebuild the state.
    const { state, snapshot } = await c.crashWithSnapshot(f);
    expect(state.lastPurgedLogId).toEqual(snap);
    const n = await c.start(f, { state, snapshot });
    expect(n.applied).toEqual([]);
    await n.raft.wait(WAIT).appliedIndex(w2.logId.index);
    expect(kv(n)).toEqual({ k1: 1, k2: 2, k3: 3, k4: 4, k5: 5 });
    // Only the entry after the snapshot was applied again.
    expect(n.applied.map((a) => a.cmd.key)).toEqual(['k5']);
  });
});
