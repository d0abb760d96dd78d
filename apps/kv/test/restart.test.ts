import { describe, expect, it } from 'vitest';
import { eventually, expectAllKeys, type LogIdJson, tempCluster, writeKeys } from './helpers.ts';

describe('durability (real processes, files, SIGKILL)', () => {
  it('every node SIGKILLed and restarted with its data dir comes back with every write', async () => {
    const { cluster, cleanup } = await tempCluster(3, ['--snapshot-every', '40']);
    try {
      await cluster.initialize();
      const c = cluster.client();
      const leader = await c.waitForLeader(30_000);
      await writeKeys(c, 0, 100);
      // The state machine snapshotted to files (entries after it are re-applied from the log).
      await eventually('a snapshot on the leader', 20_000, async () => {
        const m = await c.metrics(leader.addr);
        return (m.snapshot as LogIdJson) !== null ? true : undefined;
      });

      for (const id of [1, 2, 3]) await cluster.kill(id, 'SIGKILL');
      await Promise.all([1, 2, 3].map((id) => cluster.startNode(id)));
      await c.waitForLeader(30_000);
      await writeKeys(c, 100, 110);
      for (const id of [1, 2, 3]) {
        await eventually(`node ${id} applies after the restart`, 20_000, async () => {
          const v = await c.read(cluster.addr(id), 'k109');
          return v === 'v109' ? true : undefined;
        });
        const m = await c.metrics(cluster.addr(id));
        expect(m.snapshot).not.toBeNull();
      }
      await expectAllKeys(cluster, c, [1, 2, 3], 110);
    } finally {
      await cleanup();
    }
  }, 90_000);
});
