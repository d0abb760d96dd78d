// openraft's ChangeMembers JSON on a real two-node flotilla-kv cluster (in-process nodes over TCP):
// a node joins as a learner with AddNodes, is promoted with AddVoterIds, demoted with RemoveVoters,
// and removed with RemoveNodes, which is refused while it still votes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { learnerIds, voterIds } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type KvNode, startKvNode } from '../src/node.ts';

const CONFIG = { heartbeatIntervalMs: 100, electionTimeoutMinMs: 1000, electionTimeoutMaxMs: 2000 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(id: string): Promise<KvNode> {
  const dir = await mkdtemp(join(tmpdir(), 'kv-cm-'));
  const n = await startKvNode({ id, addr: '127.0.0.1:0', dir, config: CONFIG });
  cleanups.push(async () => {
    await n.close();
    await rm(dir, { recursive: true, force: true });
  });
  return n;
}

const voters = (n: KvNode) => voterIds(n.raft.metrics.current.membership.membership);
const learners = (n: KvNode) => learnerIds(n.raft.metrics.current.membership.membership);

async function post(n: KvNode, path: string, body: string) {
  const res = await fetch(`http://${n.addr}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, json: await res.json() };
}

describe('POST /change-membership with openraft ChangeMembers JSON', () => {
  it('AddNodes, AddVoterIds, RemoveVoters, RemoveNodes on a real cluster', async () => {
    const [a, b] = [await node('1'), await node('2')];
    expect((await post(a, '/init', '{}')).status).toBe(200);
    await a.raft.wait({ timeoutMs: 10_000 }).state('Leader');
    await a.raft.wait({ timeoutMs: 10_000 }).appliedIndex(1);

    const add = await post(a, '/change-membership', JSON.stringify({ AddNodes: { 2: { addr: b.addr } } }));
    expect(add).toMatchObject({ status: 200, json: { Ok: {} } });
    await b.raft.wait({ timeoutMs: 10_000 }).state('Learner');
    expect(learners(a)).toEqual(['2']);
    // the leader's /metrics: per-target ack age (openraft's heartbeat) and the committed membership
    const metrics = async () =>
      ((await (await fetch(`http://${a.addr}/metrics`)).json()) as { Ok: Record<string, unknown> }).Ok;
    let m = await metrics();
    for (let i = 0; i < 100 && (m.millis_since_ack as Record<string, unknown>)['2'] === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
      m = await metrics();
    }
    expect(m.millis_since_ack).toEqual({ 2: expect.any(Number) });
    expect(m.committed_membership_config).toEqual(m.membership_config);

    const bad = await post(a, '/change-membership', '{"AddNodes":{"3":{"addr":"localhost"}}}');
    expect(bad.status).toBe(400);

    await post(a, '/change-membership', '{"AddVoterIds":[2]}');
    expect(voters(a)).toEqual(['1', '2']);
    const refused = await post(a, '/change-membership', '{"RemoveNodes":[2]}');
    expect(refused.json).toMatchObject({ Err: { APIError: { ChangeMembershipError: { NodeIsVoter: {} } } } });

    await post(a, '/change-membership', '{"RemoveVoters":[2]}');
    expect([voters(a), learners(a)]).toEqual([['1'], []]);
    // after a voter removal without retain the node is gone; add it back, then remove the learner
    await post(a, '/change-membership', JSON.stringify({ AddNodes: { 2: { addr: b.addr } } }));
    expect(learners(a)).toEqual(['2']);
    const removed = await post(a, '/change-membership', '{"RemoveNodes":[2]}');
    expect(removed).toMatchObject({ status: 200, json: { Ok: {} } });
    expect([voters(a), learners(a)]).toEqual([['1'], []]);
  }, 60_000);
});
