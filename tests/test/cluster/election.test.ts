import type { RaftMetrics } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('election', () => {
  it('a candidate whose log is behind is not elected (Raft §5.4.1)', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const leader = await c.leader();
    const [lagging, upToDate] = ['a', 'b', 'c'].filter((id) => id !== leader) as [string, string];
    c.router.isolate(lagging);
    const w = await c.raft(leader).clientWrite({ key: 'x', value: 1 });
    await c.applied(w.logId.index, [upToDate]);
    // The leader goes away; the lagging node comes back and races for leadership.
    await c.crash(leader);
    c.router.heal(lagging);
    await c.raft(lagging).trigger.elect();
    const next = await c.leader([lagging, upToDate]);
    expect(next).toBe(upToDate);
    await c.applied(w.logId.index, [lagging]);
  });

  it('a triggered election lets a follower seize leadership from a leader that is gone', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const old = await c.leader();
    const seizer = ['a', 'b', 'c'].find((id) => id !== old) as string;
    const term = c.raft(seizer).metrics.current.currentTerm;
    c.router.isolate(old);
    c.raft(seizer).runtimeConfig.elect(true);
    for (const id of ['a', 'b', 'c'].filter((x) => x !== seizer && x !== old))
      c.raft(id).runtimeConfig.elect(false);
    await c.raft(seizer).trigger.elect();
    await c.raft(seizer).wait(WAIT).state('Leader');
    expect(c.raft(seizer).metrics.current.currentTerm).toBeGreaterThan(term);
  });

  it('five nodes starting together elect one leader and never two in one term, despite split votes', async () => {
    c = new TestCluster({ electionTimeoutMinMs: 200, electionTimeoutMaxMs: 260 });
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (const id of ids) await c.start(id);
    const leaders = new Map<number, Set<string>>();
    const watch = (m: RaftMetrics) => {
      if (m.state !== 'Leader') return;
      const s = leaders.get(m.currentTerm) ?? new Set<string>();
      s.add(m.id);
      leaders.set(m.currentTerm, s);
    };
    for (const id of ids) c.raft(id).metrics.subscribe(watch);
    await c.raft('a').initialize(Object.fromEntries(ids.map((id) => [id, { addr: id }])));
    const leader = await c.leader();
    // Force contested elections: every node campaigns at once, repeatedly.
    for (let round = 0; round < 3; round++) {
      await Promise.all(ids.map((id) => c!.raft(id).trigger.elect()));
      await c.leader();
    }
    expect(leader).toBeTruthy();
    for (const [, s] of leaders) expect(s.size).toBe(1);
  });

  it('pre-vote keeps a rejoining isolated follower from deposing a healthy leader', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const leader = await c.leader();
    const term = c.raft(leader).metrics.current.currentTerm;
    const f = ['a', 'b', 'c'].find((id) => id !== leader) as string;
    c.router.isolate(f);
    await delay(2_000); // several election timeouts: the isolated node keeps pre-voting and failing
    c.router.heal(f);
    await c.raft(f).wait(WAIT).currentLeader(leader);
    const w = await c.raft(leader).clientWrite({ key: 'x', value: 1 });
    await c.applied(w.logId.index);
    expect(c.raft(leader).metrics.current.state).toBe('Leader');
    expect(c.raft(leader).metrics.current.currentTerm).toBe(term);
  });

  it('a follower cut off one-way from the leader cannot depose it while the others hear the leader', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const leader = await c.leader();
    const term = c.raft(leader).metrics.current.currentTerm;
    const f = ['a', 'b', 'c'].find((id) => id !== leader) as string;
    c.router.blockLink(leader, f); // the leader's messages to f are lost; f can still reach everyone
    await delay(2_000);
    expect(c.raft(leader).metrics.current.state).toBe('Leader');
    expect(c.raft(leader).metrics.current.currentTerm).toBe(term);
    c.router.unblockLink(leader, f);
    const w = await c.raft(leader).clientWrite({ key: 'x', value: 1 });
    await c.applied(w.logId.index);
  });
});
