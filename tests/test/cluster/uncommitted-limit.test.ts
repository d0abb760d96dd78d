/**
 * `maxUncommittedEntries`: the leader's flow control. With the commit held back (the leader's
 * AppendEntries wait at the router), the leader appends no write past the limit; the held writes are
 * appended in order once the commit moves, refused with `ForwardToLeader` (never appended, safe to
 * retry) when leadership is lost, and with `Stopped` at a shutdown.
 */
import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

/** Holds every AppendEntries the leader sends until the returned function is called. */
function holdAppends(cluster: TestCluster): () => void {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const removers = (['streamAppend', 'appendEntries'] as const).map((kind) =>
    cluster.router.before(kind, () => gate),
  );
  return () => {
    for (const remove of removers) remove();
    open();
  };
}

/** Lets the loop run a turn, so each write is its own batch. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('maxUncommittedEntries', () => {
  it('appends nothing past the limit until the commit moves, then the held writes in order', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { config: { maxUncommittedEntries: 3 } });
    const l = c.raft(await c.leader());
    const base = (await l.clientWrite({ key: 'k', value: 0 })).logId.index;
    await l.wait(WAIT).until((m) => m.committed?.index === base, 'the first write committed');
    const release = holdAppends(c);
    const writes = [];
    for (let i = 1; i <= 8; i++) {
      writes.push(l.clientWrite({ key: 'k', value: i }));
      await turn();
    }
    const held = l.metrics.current;
    expect(held.lastLogIndex).toBe(base + 3);
    expect(held.committed?.index).toBe(base);
    release();
    const done = await Promise.all(writes);
    expect(done.map((r) => r.logId.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => base + i));
    // The state machine answers the key's previous value: applied once each, in order.
    expect(done.map((r) => r.response)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await c.applied(base + 8);
  });

  it('without a limit the leader appends every write at once (the default)', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    const base = (await l.clientWrite({ key: 'k', value: 0 })).logId.index;
    const release = holdAppends(c);
    const writes = [];
    for (let i = 1; i <= 8; i++) {
      writes.push(l.clientWrite({ key: 'k', value: i }));
      await turn();
    }
    expect(l.metrics.current.lastLogIndex).toBe(base + 8);
    release();
    await Promise.all(writes);
  });

  it('refuses held writes with ForwardToLeader at a step-down, appended ones with OutcomeUnknown', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { config: { maxUncommittedEntries: 2 } });
    const leader = await c.leader();
    const l = c.raft(leader);
    const base = (await l.clientWrite({ key: 'k', value: 0 })).logId.index;
    await l.wait(WAIT).until((m) => m.committed?.index === base, 'the first write committed');
    const release = holdAppends(c);
    const writes = [];
    for (let i = 1; i <= 5; i++) {
      writes.push(codeOf(l.clientWrite({ key: 'k', value: i })));
      await turn();
    }
    expect(l.metrics.current.lastLogIndex).toBe(base + 2);
    // The others elect a leader of their own; the old one learns the higher term and steps down.
    c.router.isolate(leader);
    release();
    await l.wait(WAIT).until((m) => m.state !== 'Leader', 'the old leader stepped down');
    c.router.heal();
    expect(await Promise.all(writes)).toEqual([
      ErrorCode.OutcomeUnknown,
      ErrorCode.OutcomeUnknown,
      ErrorCode.ForwardToLeader,
      ErrorCode.ForwardToLeader,
      ErrorCode.ForwardToLeader,
    ]);
    expect(l.metrics.current.lastLogIndex).toBeLessThanOrEqual(base + 2);
  });

  it('refuses held writes with Stopped at a shutdown', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { config: { maxUncommittedEntries: 1 } });
    const leader = await c.leader();
    const l = c.raft(leader);
    const base = (await l.clientWrite({ key: 'k', value: 0 })).logId.index;
    await l.wait(WAIT).until((m) => m.committed?.index === base, 'the first write committed');
    const release = holdAppends(c);
    const first = codeOf(l.clientWrite({ key: 'k', value: 1 }));
    await turn();
    const second = codeOf(l.clientWrite({ key: 'k', value: 2 }));
    await turn();
    expect(l.metrics.current.lastLogIndex).toBe(base + 1);
    await l.shutdown();
    release();
    expect(await first).toBe(ErrorCode.OutcomeUnknown);
    expect(await second).toBe(ErrorCode.Stopped);
  });
});
