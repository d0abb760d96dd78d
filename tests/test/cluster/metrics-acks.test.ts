import { performance } from 'node:perf_hooks';
import type { NodeId, RaftMetrics } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

/** Float slack: `lastQuorumAcked` is recovered from the lease deadline by a subtraction. */
const EPS = 1e-6;
/** Four heartbeat intervals (the harness's 50 ms): past the replication of the leader's blank entry. */
const SPAN = 200;

function ackOf(m: RaftMetrics, id: NodeId): number | null {
  return m.replication?.[id]?.lastAcked ?? null;
}

describe('leader metrics: acknowledgement times and the committed membership', () => {
  it("each follower's ack time and lastQuorumAcked advance with heartbeats alone", async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = await c.leader();
    const r = c.raft(l);
    const fs = ['a', 'b', 'c'].filter((id) => id !== l);
    const first = await r
      .wait(WAIT)
      .until(
        (m) =>
          fs.every((f) => ackOf(m, f) !== null && m.replication?.[f]?.matching?.index === m.lastLogIndex) &&
          m.lastQuorumAcked !== null,
        'both followers caught up and acked',
      );
    // Both followers hold the whole log and no writes come: only heartbeats can move the times.
    const later = await r
      .wait(WAIT)
      .until(
        (m) =>
          fs.every((f) => (ackOf(m, f) ?? 0) > (ackOf(first, f) ?? 0) + SPAN) &&
          (m.lastQuorumAcked ?? 0) > (first.lastQuorumAcked ?? 0) + SPAN,
        'every ack time moved by several heartbeat intervals',
      );
    expect(later.lastLogIndex).toBe(first.lastLogIndex);
    for (const m of [first, later]) {
      const acks = fs.map((f) => ackOf(m, f) as number);
      // Times on the node's clock (performance.now() by default), never in the future.
      for (const t of acks) expect(t).toBeLessThanOrEqual(performance.now());
      // Three voters: the quorum time is the second latest of the leader and two followers, so it
      // lies between the two followers' times.
      const q = m.lastQuorumAcked as number;
      expect(q).toBeGreaterThanOrEqual(Math.min(...acks) - EPS);
      expect(q).toBeLessThanOrEqual(Math.max(...acks) + EPS);
      expect(m.millisSinceQuorumAck).not.toBeNull();
    }
    // One source: millisSinceQuorumAck is the distance from lastQuorumAcked to when the value was
    // computed (at the end of the node's last turn, before this read).
    const now = r.metrics.current;
    const after = performance.now();
    const q = now.lastQuorumAcked as number;
    expect(now.millisSinceQuorumAck).toBeGreaterThanOrEqual(0);
    expect(now.millisSinceQuorumAck).toBeLessThanOrEqual(Math.round(after - q) + 1);
    // Followers report no leader-side times.
    for (const f of fs) {
      expect(c.raft(f).metrics.current.lastQuorumAcked).toBeNull();
      expect(c.raft(f).metrics.current.replication).toBeNull();
    }
    // Plain data: the value survives a structured clone unchanged.
    expect(structuredClone(later)).toEqual(later);
  });

  it('committedMembership trails membership while a change cannot commit, then catches up', async () => {
    // Long election timeouts: the isolated leader must not step down (check-quorum) meanwhile.
    c = await TestCluster.create(['a', 'b', 'c'], {
      config: { electionTimeoutMinMs: 3_000, electionTimeoutMaxMs: 4_000 },
    });
    const l = await c.leader();
    await c.start('d');
    const r = c.raft(l);
    const steady = r.metrics.current;
    expect(steady.committedMembership).toEqual(steady.membership);
    const fs = ['a', 'b', 'c'].filter((id) => id !== l);
    for (const f of fs) c.router.isolate(f);
    const adding = r.addLearner('d', { addr: 'd' }, { blocking: false });
    adding.catch(() => {}); // awaited below
    const pending = await r
      .wait(WAIT)
      .until((m) => m.membership.membership.nodes.d !== undefined, 'learner d appended');
    // Effective on append, not committed: no voter but the leader has it.
    expect(pending.committedMembership).toEqual(steady.membership);
    expect(pending.membership.logId?.index).toBeGreaterThan(steady.membership.logId?.index ?? -1);
    expect(pending.committedMembership.membership.nodes.d).toBeUndefined();
    for (const f of fs) c.router.heal(f);
    await adding;
    const done = await r
      .wait(WAIT)
      .until(
        (m) => m.committedMembership.logId?.index === pending.membership.logId?.index,
        'the learner change committed',
      );
    expect(done.committedMembership).toEqual(done.membership);
    expect(done.committedMembership.membership.nodes.d).toEqual({ addr: 'd' });
    // Followers learn the commit too.
    for (const f of fs) {
      const fm = await c
        .raft(f)
        .wait(WAIT)
        .until(
          (m) => m.committedMembership.logId?.index === pending.membership.logId?.index,
          `${f} committed`,
        );
      expect(fm.committedMembership).toEqual(fm.membership);
    }
  });
});
