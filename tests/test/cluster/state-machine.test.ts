import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('state machine', () => {
  it('every node applies the same entries in the same total order, concurrent clients included', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    const clients = Array.from({ length: 5 }, (_, ci) =>
      (async () => {
        for (let i = 0; i < 20; i++) await l.clientWrite({ key: `c${ci}`, value: i });
      })(),
    );
    await Promise.all(clients);
    const last = l.metrics.current.lastLogIndex ?? 0;
    await c.applied(last);
    const orders = [...c.nodes.values()].map((n) =>
      n.applied.map((a) => `${a.index}:${a.cmd.key}=${a.cmd.value}`),
    );
    expect(orders[0]).toHaveLength(100);
    for (const o of orders) expect(o).toEqual(orders[0]);
    const indexes = c.node('a').applied.map((a) => a.index);
    expect(indexes).toEqual([...indexes].sort((x, y) => x - y));
  });

  it('membership entries are applied: the state machine reports the last membership', async () => {
    c = await TestCluster.create(['a', 'b', 'c', 'd'], { voters: ['a', 'b', 'c'] });
    const l = c.raft(await c.leader(['a', 'b', 'c']));
    await l.addLearner('d', { addr: 'd' });
    const res = await l.changeMembership(['a', 'b', 'd']);
    const members = ['a', 'b', 'd'];
    await c.applied(res.logId.index, members);
    for (const n of members.map((id) => c!.node(id))) {
      const st = await n.sm.appliedState();
      expect(st.lastMembership.logId).toEqual(res.logId);
      expect(st.lastMembership.membership.configs).toEqual([['a', 'b', 'd']]);
      await n.raft.wait(WAIT).members(['a', 'b', 'd']);
    }
  });
});
