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
});
