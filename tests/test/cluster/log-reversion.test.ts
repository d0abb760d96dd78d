import type { MemoryLogState } from '@flotilla/memory';
import { ErrorCode, type NodeId } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, kv, nodesOf, recordingLogger, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

const IDS = ['a', 'b', 'c'];
const writes = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i % 5}`, value: from + i }));

/** A 3-node cluster with a recording logger per node; returns the leader and one follower. */
async function start(allowLogReversion: boolean) {
  const cl = new TestCluster({ allowLogReversion });
  c = cl;
  const logs = Object.fromEntries(IDS.map((id) => [id, recordingLogger()]));
  for (const id of IDS) await cl.start(id, { logger: logs[id] as ReturnType<typeof recordingLogger> });
  await cl.raft('a').initialize(nodesOf(IDS));
  const l = await cl.leader();
  const f = IDS.find((id) => id !== l) as NodeId;
  const g = IDS.find((id) => id !== l && id !== f) as NodeId;
  return { cl, logs, l, f, g };
}

/** Restarts `f` from `state` (an older durable log, or `undefined`: a wiped store). */
async function restartFrom(cl: TestCluster, f: NodeId, state: MemoryLogState | undefined) {
  await cl.crash(f);
  await cl.start(f, state === undefined ? {} : { state });
}

const reversionsOf = (lines: { level: string; msg: string; fields?: Record<string, unknown> }[], f: NodeId) =>
  lines.filter((x) => x.msg.includes('log reversion') && x.fields?.target === f);

describe('log reversion', () => {
  for (const wiped of [false, true]) {
    const how = wiped ? 'with a wiped (empty) log' : 'from an older durable log';

    it(`allowed: a follower restarted ${how} is repaired by heartbeats alone`, async () => {
      const { cl, logs, l, f } = await start(true);
      const r1 = await cl.raft(l).clientWriteMany(writes(10));
      await cl.applied(r1[9]?.logId.index ?? 0);
      const older = cl.node(f).store.durableState();
      const r2 = await cl.raft(l).clientWriteMany(writes(10, 100));
      const last = r2[9]?.logId.index ?? 0;
      await cl.applied(last);
      await restartFrom(cl, f, wiped ? undefined : older);
      expect(cl.raft(f).metrics.current.lastLogIndex ?? -1).toBeLessThan(last);
      // No new write: only the leader's heartbeats can notice the reverted log.
      await cl.applied(last, [f]);
      expect(kv(cl.node(f))).toEqual(kv(cl.node(l)));
      expect(reversionsOf(logs[l]?.lines ?? [], f).length).toBeGreaterThanOrEqual(1);
      expect(cl.raft(l).metrics.current.state).toBe('Leader');
      expect(cl.raft(l).metrics.current.replication?.[f]?.logReversion).toMatchObject({ repaired: true });
    });

    it(`refused: a follower restarted ${how} is reported, not repaired; the leader and the others go on`, async () => {
      const { cl, logs, l, f, g } = await start(false);
      const r1 = await cl.raft(l).clientWriteMany(writes(10));
      await cl.applied(r1[9]?.logId.index ?? 0);
      const older = cl.node(f).store.durableState();
      const r2 = await cl.raft(l).clientWriteMany(writes(10, 100));
      await cl.applied(r2[9]?.logId.index ?? 0);
      await restartFrom(cl, f, wiped ? undefined : older);
      const stuckAt = cl.raft(f).metrics.current.lastLogIndex;
      const waitReport = async () => {
        for (let i = 0; i < 400 && reversionsOf(logs[l]?.lines ?? [], f).length === 0; i++) await delay(25);
      };
      // Wiped: heartbeats alone must notice it, then the entries stream hits it too (one report).
      // Older log: a write makes the entries stream notice it first.
      if (wiped) {
        await waitReport();
        expect(reversionsOf(logs[l]?.lines ?? [], f).length).toBe(1);
      }
      const w = await cl.raft(l).clientWrite({ key: 'after', value: 1 });
      await cl.applied(w.logId.index, [l, g]);
      await waitReport();
      const reported = reversionsOf(logs[l]?.lines ?? [], f);
      expect(reported.length).toBe(1);
      expect(reported[0]?.level).toBe('warn');
      // Many heartbeat intervals later: still not repaired, reported once, the leader healthy.
      await delay(600);
      expect(cl.raft(f).metrics.current.lastLogIndex).toBe(stuckAt);
      expect(reversionsOf(logs[l]?.lines ?? [], f).length).toBe(1);
      const lm = cl.raft(l).metrics.current;
      expect([lm.state, lm.error]).toEqual(['Leader', null]);
      await cl
        .raft(l)
        .wait(WAIT)
        .until((m) => m.replication?.[f]?.mode === 'idle', 'f to be left idle');
      expect(cl.raft(l).metrics.current.replication?.[f]?.logReversion).toMatchObject({
        repaired: false,
        error: { code: ErrorCode.LogReversion },
      });
      expect(cl.raft(l).metrics.current.replication?.[g]?.logReversion).toBeUndefined();
    });
  }

  it('trigger.allowNextRevert repairs a refused follower once; its error leaves the metrics', async () => {
    const { cl, l, f } = await start(false);
    const r1 = await cl.raft(l).clientWriteMany(writes(10));
    await cl.applied(r1[9]?.logId.index ?? 0);
    await restartFrom(cl, f, undefined); // wiped
    const w = await cl.raft(l).clientWrite({ key: 'after', value: 1 });
    const refused = await cl
      .raft(l)
      .wait(WAIT)
      .until((m) => m.replication?.[f]?.logReversion?.repaired === false, 'the refusal');
    expect(refused.replication?.[f]?.logReversion?.error?.code).toBe(ErrorCode.LogReversion);
    expect(cl.raft(f).metrics.current.lastLogIndex ?? -1).toBeLessThan(w.logId.index);

    await expect(cl.raft(f).trigger.allowNextRevert(l, true)).rejects.toMatchObject({
      code: ErrorCode.ForwardToLeader,
    });
    await expect(cl.raft(l).trigger.allowNextRevert('nobody', true)).rejects.toMatchObject({
      code: ErrorCode.InvalidRequest,
    });
    await cl.raft(l).trigger.allowNextRevert(f, true);
    await cl.applied(w.logId.index, [f]);
    expect(kv(cl.node(f))).toEqual(kv(cl.node(l)));
    const m = await cl
      .raft(l)
      .wait(WAIT)
      .until((x) => x.replication?.[f]?.logReversion?.repaired === true, 'the repair');
    expect(m.replication?.[f]?.logReversion?.error).toBeNull();
  });
});
