import { ChangeMembershipError } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeRaft } from '../test/fake-raft.ts';
import { serve, type TestServer } from '../test/http-server.ts';
import { kvHttpHandler, whenNotInProgress } from './http-api.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(raft: FakeRaft, extra: { maxBodyBytes?: number } = {}): Promise<TestServer> {
  server = await serve(kvHttpHandler({ raft, store: raft.kv, addr: '127.0.0.1:21001', ...extra }));
  return server;
}

describe('HTTP API: the openraft example sequence', () => {
  it('init, add-learner, change-membership, write, read, linearizable read', async () => {
    const raft = new FakeRaft('1');
    const s = await start(raft);
    expect((await s.post('/init', '{}')).json).toEqual({ Ok: null });
    expect(raft.calls[0]).toBe('initialize {"1":{"addr":"127.0.0.1:21001"}}');

    const learner = await s.post('/add-learner', '[2, "127.0.0.1:21002"]');
    expect(learner.status).toBe(200);
    expect(learner.json).toEqual({
      Ok: {
        log_id: { term: 1, index: 2 },
        data: null,
        membership: {
          configs: [[1]],
          nodes: { '1': { addr: '127.0.0.1:21001' }, '2': { addr: '127.0.0.1:21002' } },
        },
      },
    });
    expect(raft.calls).toContain('addLearner 2 127.0.0.1:21002 blocking=true');

    const cm = await s.post('/change-membership', '[1, 2]');
    expect(cm.json).toMatchObject({
      Ok: { log_id: { term: 1, index: 3 }, membership: { configs: [[1, 2]] } },
    });

    const w = await s.post('/write', '{"Set":{"key":"foo","value":"bar"}}');
    expect(w.json).toEqual({
      Ok: { log_id: { term: 1, index: 4 }, data: { value: 'bar', applied: true }, membership: null },
    });
    expect((await s.post('/read', '"foo"')).json).toEqual({ Ok: 'bar' });
    expect((await s.post('/read', '"missing"')).json).toEqual({ Ok: '' });
    expect((await s.post('/linearizable_read', '"foo"')).json).toEqual({ Ok: 'bar' });
    expect((await s.post('/consistent_read', '"foo"')).json).toEqual({ Ok: 'bar' });

    const cas = await s.post('/write', '{"Cas":{"key":"foo","expected":"nope","value":"x"}}');
    expect(cas.json).toMatchObject({ Ok: { data: { value: 'bar', applied: false } } });
    const del = await s.post('/write', '{"Delete":{"key":"foo"}}');
    expect(del.json).toMatchObject({ Ok: { data: { value: 'bar', applied: true } } });
  });

  it('/init with a member list, and a second /init answers NotAllowed', async () => {
    const raft = new FakeRaft('1');
    const s = await start(raft);
    const body = '[[1,"127.0.0.1:21001"],[2,"127.0.0.1:21002"],[3,"127.0.0.1:21003"]]';
    expect((await s.post('/init', body)).json).toEqual({ Ok: null });
    expect(raft.calls[0]).toBe(
      'initialize {"1":{"addr":"127.0.0.1:21001"},"2":{"addr":"127.0.0.1:21002"},"3":{"addr":"127.0.0.1:21003"}}',
    );
    const again = await s.post('/init', '[]');
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ Err: { APIError: { NotAllowed: { message: 'already initialized' } } } });
  });

  it('/metrics carries openraft field names with numeric ids', async () => {
    const raft = new FakeRaft('1');
    const s = await start(raft);
    await s.post('/init', '');
    await s.post('/add-learner', '[2, "127.0.0.1:21002"]');
    const m = await s.get('/metrics');
    expect(m.headers.get('content-type')).toBe('application/json');
    expect(m.json).toEqual({
      Ok: {
        running_state: { Ok: null },
        id: 1,
        current_term: 1,
        vote: { leader_id: { term: 1, node_id: 1 }, committed: true },
        last_log_index: 2,
        committed: { term: 1, index: 2 },
        last_applied: { term: 1, index: 2 },
        snapshot: null,
        purged: null,
        state: 'Leader',
        current_leader: 1,
        millis_since_quorum_ack: null,
        membership_config: {
          log_id: { term: 1, index: 2 },
          membership: {
            configs: [[1]],
            nodes: { '1': { addr: '127.0.0.1:21001' }, '2': { addr: '127.0.0.1:21002' } },
          },
        },
        committed_membership_config: {
          log_id: { term: 1, index: 2 },
          membership: {
            configs: [[1]],
            nodes: { '1': { addr: '127.0.0.1:21001' }, '2': { addr: '127.0.0.1:21002' } },
          },
        },
        replication: { '2': { term: 1, index: 2 } },
        replication_mode: { '2': 'pipeline' },
        millis_since_ack: { '2': null },
        log_reversion: {},
      },
    });
  });
});

describe('HTTP API: ForwardToLeader', () => {
  it('a follower answers writes and linearizable reads with the leader id and address', async () => {
    const raft = new FakeRaft('2', { followerOf: { id: '1', node: { addr: '127.0.0.1:21001' } } });
    const s = await start(raft);
    const forward = {
      Err: { APIError: { ForwardToLeader: { leader_id: 1, leader_node: { addr: '127.0.0.1:21001' } } } },
    };
    expect((await s.post('/write', '{"Set":{"key":"a","value":"b"}}')).json).toEqual(forward);
    expect((await s.post('/linearizable_read', '"a"')).json).toEqual(forward);
    expect((await s.post('/add-learner', '[3,"127.0.0.1:21003"]')).json).toEqual(forward);
    expect((await s.post('/read', '"a"')).json).toEqual({ Ok: '' });
  });

  it('a stopped node answers 503 with a Fatal error and /health reports it', async () => {
    const raft = new FakeRaft('1');
    const s = await start(raft);
    expect((await s.get('/health')).json).toEqual({
      Ok: { status: 'ok', id: 1, state: 'Learner', current_leader: null },
    });
    await raft.shutdown();
    const w = await s.post('/write', '{"Set":{"key":"a","value":"b"}}');
    expect(w.status).toBe(503);
    expect(w.json).toEqual({ Err: { Fatal: 'Stopped' } });
    const h = await s.get('/health');
    expect(h.status).toBe(503);
    expect(h.json).toMatchObject({ Err: { status: 'stopped', state: 'Shutdown' } });
  });

  it('membership errors keep openraft names', async () => {
    const raft = new FakeRaft('1');
    const s = await start(raft);
    await s.post('/init', '');
    expect((await s.post('/change-membership', '[1, 7]')).json).toEqual({
      Err: {
        APIError: { ChangeMembershipError: { LearnerNotFound: { message: 'node 7 is not a learner' } } },
      },
    });
  });
});

describe('HTTP API: cluster metrics and dashboard', () => {
  it('/cluster/metrics aggregates every member, marking the unreachable ones', async () => {
    const raft = new FakeRaft('1');
    const fetched: string[] = [];
    server = await serve(
      kvHttpHandler({
        raft,
        store: raft.kv,
        addr: '127.0.0.1:21001',
        fetchJson: async (url) => {
          fetched.push(url);
          if (url.includes('21003')) throw new Error('connect ECONNREFUSED');
          return { Ok: { id: 2, state: 'Learner' } };
        },
      }),
    );
    const before = (await server.get('/cluster/metrics')).json as {
      Ok: { nodes: Record<string, unknown>[] };
    };
    expect(before.Ok.nodes.map((n) => [n.id, n.member])).toEqual([[1, null]]); // not a member yet
    await server.post('/init', '');
    await server.post('/add-learner', '[2, "127.0.0.1:21002"]');
    await server.post('/add-learner', '[3, "127.0.0.1:21003"]');
    const r = await server.get('/cluster/metrics');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const body = r.json as { Ok: { self: number; nodes: Record<string, unknown>[] } };
    expect(body.Ok.self).toBe(1);
    expect(fetched.sort()).toEqual(['http://127.0.0.1:21002/metrics', 'http://127.0.0.1:21003/metrics']);
    expect(body.Ok.nodes.map((n) => [n.id, n.member, n.ok])).toEqual([
      [1, 'voter', true],
      [2, 'learner', true],
      [3, 'learner', false],
    ]);
    expect(body.Ok.nodes[2]?.error).toBe('connect ECONNREFUSED');
    expect(body.Ok.nodes[0]?.metrics).toMatchObject({ state: 'Leader' });
    expect(body.Ok.nodes[0]?.ok).toBe(true);
  });

  it('GET / serves the self-contained dashboard page', async () => {
    const raft = new FakeRaft('1');
    const s = await start(raft);
    const r = await s.get('/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.text).toContain('/cluster/metrics');
    expect(r.text).toContain('id="leader"');
    expect(r.text).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
  });
});

describe('whenNotInProgress', () => {
  it('retries a membership call while it is InProgress, and passes other outcomes through', async () => {
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw new ChangeMembershipError('InProgress', 'a membership change is in progress');
      return 'done';
    };
    expect(await whenNotInProgress(flaky)).toBe('done');
    expect(calls).toBe(3);
    let other = 0;
    const failing = async () => {
      other++;
      throw new ChangeMembershipError('LearnerNotFound', 'no such learner');
    };
    await expect(whenNotInProgress(failing)).rejects.toMatchObject({ reason: 'LearnerNotFound' });
    expect(other).toBe(1);
    await expect(
      whenNotInProgress(async () => {
        throw new ChangeMembershipError('InProgress', 'stuck');
      }, 120),
    ).rejects.toMatchObject({ reason: 'InProgress' });
  });
});
