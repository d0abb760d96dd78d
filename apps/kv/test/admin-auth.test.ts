// The admin routes (/init, /add-learner, /change-membership) of a real node started with a secret or
// an admin token: 401 without the bearer credential, served with it; reads, writes, metrics and the
// dashboard stay open. And a node with neither keeps them open, as before.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type KvNode, startKvNode } from '../src/node.ts';

const CONFIG = { heartbeatIntervalMs: 100, electionTimeoutMinMs: 1000, electionTimeoutMaxMs: 2000 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(auth: { secret?: string; adminToken?: string }): Promise<KvNode> {
  const dir = await mkdtemp(join(tmpdir(), 'kv-admin-'));
  const n = await startKvNode({ id: '1', addr: '127.0.0.1:0', dir, config: CONFIG, ...auth });
  cleanups.push(async () => {
    await n.close();
    await rm(dir, { recursive: true, force: true });
  });
  return n;
}

async function post(n: KvNode, path: string, body: string, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://${n.addr}${path}`, { method: 'POST', headers, body });
  return { status: res.status, auth: res.headers.get('www-authenticate'), json: await res.json() };
}

async function leads(n: KvNode): Promise<void> {
  await n.raft.wait({ timeoutMs: 10_000 }).state('Leader');
}

describe('flotilla-kv admin routes', () => {
  it('with a secret: 401 without the bearer secret or with a wrong one; served with it', async () => {
    const n = await node({ secret: 'peer-secret' });
    for (const token of [undefined, 'wrong', 'peer-secretX', 'PEER-SECRET']) {
      const r = await post(n, '/init', '{}', token);
      expect(r.status).toBe(401);
      expect(r.auth).toBe('Bearer realm="flotilla-kv admin"');
      expect(r.json).toMatchObject({ Err: { Unauthorized: { path: '/init' } } });
    }
    const denied = await post(n, '/add-learner', '[2, "127.0.0.1:1"]');
    expect(denied.status).toBe(401);
    expect((await post(n, '/change-membership', '[1]')).status).toBe(401);
    expect(n.raft.metrics.current.membership.membership.configs).toEqual([]); // nothing happened

    expect(await post(n, '/init', '{}', 'peer-secret')).toMatchObject({ status: 200, json: { Ok: null } });
    await leads(n);
    const cm = await post(n, '/change-membership', '[1]', 'peer-secret');
    expect(cm.json).toMatchObject({ Ok: { membership: { configs: [[1]] } } });
    // reads, writes, metrics and the dashboard need no credential
    const w = await post(n, '/write', '{"Set":{"key":"k","value":"v"}}');
    expect(w).toMatchObject({ status: 200, json: { Ok: { data: { value: 'v' } } } });
    expect(await post(n, '/linearizable_read', '"k"')).toMatchObject({ status: 200, json: { Ok: 'v' } });
    expect((await fetch(`http://${n.addr}/metrics`)).status).toBe(200);
    expect((await fetch(`http://${n.addr}/`)).status).toBe(200);
  });

  it('an explicit admin token replaces the secret as the credential', async () => {
    const n = await node({ secret: 'peer-secret', adminToken: 'ops-token' });
    expect((await post(n, '/init', '{}', 'peer-secret')).status).toBe(401);
    expect(await post(n, '/init', '{}', 'ops-token')).toMatchObject({ status: 200, json: { Ok: null } });
  });

  it('without a secret or token the admin routes stay open', async () => {
    const n = await node({});
    expect(await post(n, '/init', '{}')).toMatchObject({ status: 200, json: { Ok: null } });
    await leads(n);
  });
});
