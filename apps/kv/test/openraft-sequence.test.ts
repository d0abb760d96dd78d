import { describe, expect, it } from 'vitest';
import { KV_TRANSPORTS } from '../src/node.ts';
import { eventually, tempCluster, transportArgs } from './helpers.ts';

// The sequence of openraft's raft-kv-memstore test-cluster.sh / test_cluster.rs, against real
// processes over real sockets and files, asserting every reply; once per Raft transport (the
// membership addresses are the HTTP addresses either way: Raft shares the port).
describe.each(KV_TRANSPORTS)('openraft example sequence (5 real processes, %s transport)', (transport) => {
  it('init 1-3, learners 4 and 5, members 1..5, write, read everywhere, members [3], write, read', async () => {
    const { cluster, cleanup } = await tempCluster(5, transportArgs(transport));
    try {
      // Blocking membership calls on a loaded 2-core machine can take seconds: allow 30 s per request.
      const c = cluster.client({ requestTimeoutMs: 30_000 });
      const a = (id: number) => cluster.addr(id);

      const init = await c.call(a(1), '/init', [
        [1, a(1)],
        [2, a(2)],
        [3, a(3)],
      ]);
      expect(init).toEqual({ status: 200, body: { Ok: null } });
      const leader = await c.waitForLeader(30_000, [a(1), a(2), a(3)]);
      expect([1, 2, 3]).toContain(leader.id);

      for (const id of [4, 5]) {
        const r = await c.call(leader.addr, '/add-learner', [id, a(id)]);
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ Ok: { membership: { configs: [[1, 2, 3]] } } });
        const ok = (r.body as { Ok: { log_id: { index: number }; membership: { configs: number[][] } } }).Ok;
        expect(ok.membership.configs).toEqual([[1, 2, 3]]);
        expect(ok.log_id.index).toBeGreaterThan(0);
      }
      const m1 = await c.metrics(leader.addr);
      expect(m1.membership_config).toMatchObject({
        membership: {
          configs: [[1, 2, 3]],
          nodes: Object.fromEntries([1, 2, 3, 4, 5].map((id) => [String(id), { addr: a(id) }])),
        },
      });

      const cm = await c.call(leader.addr, '/change-membership', [1, 2, 3, 4, 5]);
      expect(cm.status).toBe(200);
      expect(cm.body).toMatchObject({ Ok: { membership: { configs: [[1, 2, 3, 4, 5]] } } });
      expect((await c.metrics(leader.addr)).membership_config).toMatchObject({
        membership: { configs: [[1, 2, 3, 4, 5]] },
      });

      const w = await c.call(leader.addr, '/write', { Set: { key: 'foo', value: 'bar' } });
      expect(w.body).toMatchObject({ Ok: { data: { value: 'bar', applied: true }, membership: null } });
      const writeIndex = (w.body as { Ok: { log_id: { index: number } } }).Ok.log_id.index;
      for (let id = 1; id <= 5; id++) {
        await eventually(`node ${id} applies the write`, 10_000, async () => {
          const m = await c.metrics(a(id));
          const applied = (m.last_applied as { index: number } | null)?.index ?? -1;
          return applied >= writeIndex ? true : undefined;
        });
        expect(await c.call(a(id), '/read', 'foo')).toEqual({ status: 200, body: { Ok: 'bar' } });
      }
      expect(await c.call(leader.addr, '/linearizable_read', 'foo')).toEqual({
        status: 200,
        body: { Ok: 'bar' },
      });

      // A follower answers ForwardToLeader for writes and linearizable reads.
      const follower = [1, 2, 3, 4, 5].find((id) => id !== leader.id) as number;
      const forward = {
        status: 200,
        body: {
          Err: {
            APIError: { ForwardToLeader: { leader_id: leader.id, leader_node: { addr: leader.addr } } },
          },
        },
      };
      expect(await c.call(a(follower), '/write', { Set: { key: 'foo', value: 'wow' } })).toEqual(forward);
      expect(await c.call(a(follower), '/linearizable_read', 'foo')).toEqual(forward);

      const cm3 = await c.call(leader.addr, '/change-membership', [3]);
      expect(cm3.status).toBe(200);
      expect(cm3.body).toMatchObject({ Ok: { membership: { configs: [[3]] } } });
      const l3 = await c.waitForLeader(30_000, [a(3)]);
      expect(l3.id).toBe(3);
      const m3 = await c.metrics(a(3));
      expect(m3.membership_config).toMatchObject({
        membership: { configs: [[3]], nodes: { '3': { addr: a(3) } } },
      });
      expect(
        Object.keys((m3.membership_config as { membership: { nodes: object } }).membership.nodes),
      ).toEqual(['3']);

      const w3 = await c.call(a(3), '/write', { Set: { key: 'foo', value: 'zoo' } });
      expect(w3.body).toMatchObject({ Ok: { data: { value: 'zoo', applied: true } } });
      expect(await c.call(a(3), '/read', 'foo')).toEqual({ status: 200, body: { Ok: 'zoo' } });
      expect(await c.call(a(3), '/linearizable_read', 'foo')).toEqual({ status: 200, body: { Ok: 'zoo' } });
    } finally {
      await cleanup();
    }
  }, 90_000);
});
