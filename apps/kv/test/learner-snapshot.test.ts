import { describe, expect, it } from 'vitest';
import { eventually, expectAllKeys, type LogIdJson, tempCluster, writeKeys } from './helpers.ts';

describe('durability (real processes, files, SIGKILL)', () => {
  it('snapshot + purge, then a new learner catches up from the snapshot and survives a restart', async () => {
    const { cluster, cleanup } = await tempCluster(3, ['--snapshot-every', '50', '--keep-logs', '0']);
    try {
      await cluster.initialize();
      const c = cluster.client();
      const leader = await c.waitForLeader(30_000);
      await writeKeys(c, 0, 130);

      const lm = await eventually('a snapshot and a purge on the leader', 20_000, async () => {
        const m = await c.metrics(leader.addr);
        const snap = m.snapshot as LogIdJson;
        const purged = m.purged as LogIdJson;
        return snap !== null && purged !== null && snap.index >= 90 ? { snap, purged } : undefined;
      });
      expect(lm.purged?.index).toBeGreaterThanOrEqual(49);

      // Node 4 joins after the purge: the entries it lacks exist only in the snapshot.
      const addr4 = await cluster.addNodeId(4);
      await cluster.startNode(4);
      const add = await c.call(leader.addr, '/add-learner', [4, addr4]);
      expect(add.status).toBe(200);
      expect(add.body).toHaveProperty('Ok');
      const m4 = await eventually('node 4 applies past the snapshot', 20_000, async () => {
        const m = await c.metrics(addr4);
        const applied = m.last_applied as LogIdJson;
        return applied !== null && applied.index >= (lm.snap?.index ?? 0) ? m : undefined;
      });
      expect(m4.state).toBe('Learner');
      expect(m4.snapshot).not.toBeNull(); // it got there by installing a snapshot
      await expectAllKeys(cluster, c, [4], 130);

      // SIGKILL every node, restart each with its data dir: everything is back.
      for (const id of [1, 2, 3, 4]) await cluster.kill(id, 'SIGKILL');
      await Promise.all([1, 2, 3, 4].map((id) => cluster.startNode(id)));
      await c.waitForLeader(30_000);
      await writeKeys(c, 130, 140);
      for (const id of [1, 2, 3, 4]) {
        await eventually(`node ${id} applies after the restart`, 20_000, async () => {
          const v = await c.read(cluster.addr(id), 'k139');
          return v === 'v139' ? true : undefined;
        });
      }
      await expectAllKeys(cluster, c, [1, 2, 3, 4], 140);
    } finally {
      await cleanup();
    }
  }, 90_000);
});
