import type { NodeId } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { kv, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  c?.router.heal();
  await c?.shutdown();
  c = null;
});

const IDS = ['a', 'b', 'c', 'd', 'e'];
const hasZ = (c: TestCluster, id: NodeId) => 'z' in c.raft(id).metrics.current.membership.membership.nodes;

/**
 * Five nodes; follower `f` receives from leader `l` entries (writes and a membership entry adding
 * learner `z`) that never commit: its acks are lost and the three others are cut off from both. Then
 * `l` is isolated, the others elect a new leader `n` and write more than `f` holds, `f` rejoins.
 */
async function divergedFollower(opts: { snapshot: boolean }) {
  const cl = await TestCluster.create(IDS, { config: { maxInSnapshotLogToKeep: 0 } });
  c = cl;
  const l = await cl.leader();
  const [f, ...others] = IDS.filter((id) => id !== l) as [NodeId, ...NodeId[]];
  const base = await cl.raft(l).clientWrite({ key: 'base', value: 1 });
  await cl.applied(base.logId.index);
  const cut = (x: NodeId, y: NodeId) => {
    cl.router.blockLink(x, y);
    cl.router.blockLink(y, x);
  };
  for (const o of others) {
    cut(l, o);
    cut(f, o);
  }
  cl.router.blockLink(f, l); // f receives l's entries, l never hears f's acks
  const lost = cl.raft(l).clientWriteMany(Array.from({ length: 30 }, (_, i) => ({ key: 'lost', value: i })));
  const lostLearner = cl.raft(l).addLearner('z', { addr: 'z' }, { blocking: false });
  void lost.catch(() => {});
  void lostLearner.catch(() => {});
  const fm = await cl
    .raft(f)
    .wait(WAIT)
    .until((m) => (m.lastLogIndex ?? 0) >= base.logId.index + 31, 'f to hold the uncommitted entries');
  // Membership carried in append: f adopts the membership entry before it is committed.
  expect(hasZ(cl, f)).toBe(true);
  expect(fm.committed?.index).toBeLessThan(fm.lastLogIndex ?? 0);
  const fLast = fm.lastLogIndex ?? 0;

  cl.router.isolate(l);
  const n = await cl.leader(others);
  const res = await cl
    .raft(n)
    .clientWriteMany(Array.from({ length: 40 }, (_, i) => ({ key: 'kept', value: i })));
  const last = res[39]?.logId.index ?? 0;
  expect(last).toBeGreaterThan(fLast); // n's log overlaps and goes past f's conflicting suffix
  if (opts.snapshot) {
    const snap = await cl.raft(n).trigger.snapshot();
    expect(await cl.raft(n).trigger.purgeLog(snap?.index ?? 0)).toEqual(snap);
    // One more entry after the snapshot: f is probed, refuses, then needs the snapshot.
    await cl.raft(n).clientWrite({ key: 'kept', value: 100 });
  }
  const snapshotsBefore = cl.router.count('fullSnapshot', { to: f });
  for (const o of others) {
    cl.router.unblockLink(f, o);
    cl.router.unblockLink(o, f);
  }
  const final = cl.raft(n).metrics.current.lastLogIndex ?? 0;
  await cl.applied(final, [f, ...others]);
  return { cl, f, n, snapshots: cl.router.count('fullSnapshot', { to: f }) - snapshotsBefore };
}

describe('conflicting follower logs', () => {
  it('membership carried in append is reverted when the conflicting suffix is truncated by a new leader', async () => {
    const { cl, f, n, snapshots } = await divergedFollower({ snapshot: false });
    expect(snapshots).toBe(0);
    expect(hasZ(cl, f)).toBe(false);
    expect(cl.raft(f).metrics.current.membership).toEqual(cl.raft(n).metrics.current.membership);
    expect(cl.node(f).applied.some((x) => x.cmd.key === 'lost')).toBe(false);
    expect(kv(cl.node(f))).toEqual(kv(cl.node(n)));
  }, 30_000);

  it('a snapshot installed over a conflicting log replaces the uncommitted suffix and overrides its membership', async () => {
    const { cl, f, n, snapshots } = await divergedFollower({ snapshot: true });
    expect(snapshots).toBeGreaterThan(0);
    const fm = cl.raft(f).metrics.current;
    expect(hasZ(cl, f)).toBe(false);
    expect(fm.membership).toEqual(cl.raft(n).metrics.current.membership);
    expect(fm.snapshot).toEqual(cl.raft(n).metrics.current.snapshot);
    expect(fm.lastLogIndex).toBe(cl.raft(n).metrics.current.lastLogIndex);
    expect(cl.node(f).applied.some((x) => x.cmd.key === 'lost')).toBe(false);
    expect(kv(cl.node(f))).toEqual(kv(cl.node(n)));
  }, 30_000);
});
