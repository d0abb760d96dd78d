import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('metrics and wait', () => {
  it('every wait predicate resolves with the first metrics value that satisfies it', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { config: { maxInSnapshotLogToKeep: 0 } });
    const l = await c.leader();
    const r = c.raft(l);
    const w = await r.clientWrite({ key: 'x', value: 1 });
    expect((await r.wait(WAIT).appliedIndex(w.logId.index)).lastApplied).toEqual(w.logId);
    expect((await r.wait(WAIT).state('Leader')).state).toBe('Leader');
    expect((await r.wait(WAIT).currentLeader(l)).currentLeader).toBe(l);
    expect((await r.wait(WAIT).members(['a', 'b', 'c'])).membership.membership.configs).toHaveLength(1);
    expect((await r.wait(WAIT).committedIndex(w.logId.index)).committed).toEqual(w.logId);
    expect((await r.wait(WAIT).logIndex(w.logId.index)).lastLogIndex).toBe(w.logId.index);
    expect((await r.wait(WAIT).term(1)).currentTerm).toBeGreaterThanOrEqual(1);
    const snap = await r.trigger.snapshot();
    expect((await r.wait(WAIT).snapshot(snap ?? w.logId)).snapshot).toEqual(snap);
    await r.trigger.purgeLog(snap?.index ?? 0);
    expect((await r.wait(WAIT).purged(snap ?? w.logId)).purged).toEqual(snap);
    expect((await r.wait(WAIT).until((m) => m.id === l)).id).toBe(l);
  });

  it('a wait that cannot be met times out with a Timeout error naming what it waited for', async () => {
    c = await TestCluster.create(['a']);
    const err = await c
      .raft('a')
      .wait({ timeoutMs: 100 })
      .appliedIndex(1_000, 'index 1000')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Timeout });
    expect(String((err as Error).message)).toContain('index 1000');
  });

  it('metrics report the replication of each target and the leader last quorum-ack time; followers report none', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = await c.leader();
    const w = await c.raft(l).clientWrite({ key: 'x', value: 1 });
    const m = await c
      .raft(l)
      .wait(WAIT)
      .until((x) => {
        const rep = x.replication ?? {};
        return (
          Object.keys(rep).length === 2 &&
          Object.values(rep).every((p) => (p.matching?.index ?? -1) >= w.logId.index)
        );
      }, 'both followers matched');
    expect(Object.keys(m.replication ?? {}).sort()).toEqual(['a', 'b', 'c'].filter((id) => id !== l));
    // The leader hears heartbeat acks continuously: the last quorum ack stays within an election timeout.
    expect(m.millisSinceQuorumAck).not.toBeNull();
    expect(m.millisSinceQuorumAck ?? Infinity).toBeLessThan(800);
    const f = ['a', 'b', 'c'].find((id) => id !== l) as string;
    expect(c.raft(f).metrics.current.replication).toBeNull();
    expect(c.raft(f).metrics.current.millisSinceQuorumAck).toBeNull();
    const seen: string[] = [];
    const off = c.raft(f).metrics.subscribe((x) => seen.push(x.state));
    await c.raft(f).shutdown();
    off();
    expect(seen).toContain('Shutdown');
    expect(await codeOf(c.raft(f).wait(WAIT).state('Leader'))).toBe(ErrorCode.Stopped);
  });
});
