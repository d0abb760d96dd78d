import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { kv, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  c?.router.heal();
  await c?.shutdown();
  c = null;
});

const writes = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i % 9}`, value: from + i }));

describe('log purge', () => {
  it('a purge is not held back for ever by an unreachable follower: it later catches up from the snapshot', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], {
      config: { snapshotPolicy: { sinceLast: 40 }, maxInSnapshotLogToKeep: 0, purgeBatchSize: 1 },
    });
    const l = await c.leader();
    const f = ['a', 'b', 'c'].find((id) => id !== l) as string;
    c.router.setUnreachable(f);
    const res = await c.raft(l).clientWriteMany(writes(100));
    const last = res[99]?.logId.index ?? 0;
    // The leader snapshots by policy and purges although f's range is re-sent after every back-off.
    const m = await c
      .raft(l)
      .wait(WAIT)
      .until((x) => (x.purged?.index ?? -1) >= 40, 'the leader to purge while f is unreachable');
    expect(m.purged?.index).toBeLessThanOrEqual(m.snapshot?.index ?? -1);
    expect(c.router.count('fullSnapshot', { to: f })).toBe(0);
    c.router.heal(f);
    await c.applied(last, [f]);
    expect(c.router.count('fullSnapshot', { to: f })).toBeGreaterThan(0);
    expect(kv(c.node(f))).toEqual(kv(c.node(l)));
  }, 30_000);

  it('two unreachable followers (their ranges re-sent in turn) do not hold a purge back either', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    c = await TestCluster.create(ids, {
      config: { snapshotPolicy: { sinceLast: 40 }, maxInSnapshotLogToKeep: 0, purgeBatchSize: 1 },
    });
    const l = await c.leader();
    const away = ids.filter((id) => id !== l).slice(0, 2);
    for (const id of away) c.router.setUnreachable(id);
    const res = await c.raft(l).clientWriteMany(writes(100));
    await c
      .raft(l)
      .wait(WAIT)
      .until((x) => (x.purged?.index ?? -1) >= 40, 'the leader to purge while two followers are unreachable');
    for (const id of away) c.router.heal(id);
    await c.applied(res[99]?.logId.index ?? 0, away);
    for (const id of away) {
      expect(c.router.count('fullSnapshot', { to: id })).toBeGreaterThan(0);
      expect(kv(c.node(id))).toEqual(kv(c.node(l)));
    }
  }, 30_000);

  it('trigger.purgeLog(upto) purges exactly up to upto, not to the snapshot, whatever maxInSnapshotLogToKeep says', async () => {
    c = await TestCluster.create(['a', 'b', 'c']); // default maxInSnapshotLogToKeep: 1000
    const l = c.node(await c.leader());
    const res = await l.raft.clientWriteMany(writes(40));
    await c.applied(res[39]?.logId.index ?? 0);
    const snap = await l.raft.trigger.snapshot();
    expect(snap?.index).toBeGreaterThanOrEqual(40);
    const purged = await l.raft.trigger.purgeLog(20);
    expect(purged?.index).toBe(20);
    expect(l.raft.metrics.current.purged?.index).toBe(20);
    await l.raft.clientWrite({ key: 'after', value: 1 }); // flushes the store
    expect(l.store.durableState().lastPurgedLogId?.index).toBe(20);
    expect(l.store.durableState().entries[0]?.logId.index).toBe(21);
    // Beyond the snapshot: refused with a typed error, nothing purged.
    await expect(l.raft.trigger.purgeLog((snap?.index ?? 0) + 1)).rejects.toMatchObject({
      code: ErrorCode.InvalidRequest,
    });
    expect(l.raft.metrics.current.purged?.index).toBe(20);
    // Followers keep their own policy: an explicit purge is local.
    for (const id of ['a', 'b', 'c'].filter((x) => x !== l.id))
      expect(c.raft(id).metrics.current.purged).toBeNull();
  });
});
