import { ErrorCode, hasErrorCode, snapshotDataOf } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { HandshakeError } from '../src/index.ts';
import { appendReq, LEADER, pair } from './helpers.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function setup(...args: Parameters<typeof pair>) {
  const p = await pair(...args);
  closers.push(p.close);
  return { ...p, client: p.network.newClient('b', { addr: p.addr }) };
}

describe('unary calls', () => {
  it('carries votes, heartbeats, appends and transfers, with bytes intact', async () => {
    const { handler, client } = await setup();
    const vote = {
      vote: { term: 4, nodeId: 'a', committed: false },
      lastLogId: { term: 3, index: 7 },
      preVote: true,
    };
    await expect(client.vote(vote)).resolves.toEqual({ vote: vote.vote, voteGranted: true, lastLogId: null });
    expect(handler.votes).toEqual([vote]);

    const heartbeat = appendReq(4, 0);
    await expect(client.appendEntries(heartbeat)).resolves.toEqual({ type: 'success' });
    const withEntries = appendReq(4, 3, 10);
    await expect(client.appendEntries(withEntries)).resolves.toEqual({ type: 'success' });
    expect(handler.appended).toEqual([heartbeat, withEntries]);
    expect(handler.appended[1]!.entries[2]!.payload).toEqual({
      type: 'normal',
      data: new Uint8Array(10).fill(2),
    });

    const transfer = { from: LEADER, to: 'b', lastLogId: { term: 3, index: 9 } };
    await expect(client.transferLeader(transfer)).resolves.toBeUndefined();
    expect(handler.transfers).toEqual([transfer]);
  });

  it('multiplexes many concurrent calls on one connection', async () => {
    const { handler, client, server } = await setup();
    const calls = Array.from({ length: 500 }, (_, i) =>
      client.vote({ vote: { term: 4 + i, nodeId: 'a', committed: false }, lastLogId: null }),
    );
    const res = await Promise.all(calls);
    expect(res.map((r) => r.vote.term)).toEqual(Array.from({ length: 500 }, (_, i) => 4 + i));
    expect(handler.votes).toHaveLength(500);
    expect(server.connections).toBe(1);
  });

  it('maps a handler error to RemoteError and delivers a malformed request as sent', async () => {
    const { handler, client } = await setup();
    const boom = client.appendEntries({ ...appendReq(0, 0), prevLogId: { term: 3, index: 999_999 } });
    await expect(boom).rejects.toMatchObject({ code: ErrorCode.Remote, remoteCode: null });
    // Content is validated once, by the handler (the runtime); the transport only frames it.
    const bad = { ...appendReq(0, 0), vote: { term: 3, nodeId: 'a', committed: false } };
    expect(await client.appendEntries(bad)).toEqual({ type: 'success' });
    expect(handler.appended).toHaveLength(2);
    expect(handler.appended[1]).toEqual(bad);
  });

  it('times out, honours abort, and drops the late answer', async () => {
    const { handler, client } = await setup();
    handler.vote = () => new Promise(() => {});
    const req = { vote: { term: 4, nodeId: 'a', committed: false }, lastLogId: null };
    await expect(client.vote(req, { timeoutMs: 50 })).rejects.toMatchObject({ code: ErrorCode.RpcTimeout });
    const ac = new AbortController();
    const p = client.vote(req, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    await expect(client.vote(req, { signal: AbortSignal.abort() })).rejects.toBeDefined();
  });

  it('sends a snapshot in chunks', async () => {
    const { handler, client } = await setup();
    const meta = {
      lastLogId: { term: 3, index: 10 },
      lastMembership: { logId: null, membership: { configs: [['a']], nodes: { a: { addr: 'x:1' } } } },
      snapshotId: 's1',
    };
    const bytes = new Uint8Array(300_000).map((_, i) => i % 256);
    const res = await client.fullSnapshot(
      LEADER,
      { meta, data: snapshotDataOf(bytes, 100_000) },
      { chunkBytes: 4096 },
    );
    expect(res).toEqual({ vote: LEADER });
    expect(handler.snapshots).toEqual([{ vote: LEADER, meta, bytes: 300_000 }]);
    // A malformed meta reaches the handler as sent: validating it is the handler's job.
    const badMeta = { ...meta, snapshotId: 7 } as never;
    expect(await client.fullSnapshot(LEADER, { meta: badMeta, data: snapshotDataOf(bytes) })).toEqual({
      vote: LEADER,
    });
    expect(handler.snapshots[1]).toEqual({ vote: LEADER, meta: badMeta, bytes: 300_000 });
  });
});

describe('connection failures', () => {
  it('reports Unreachable for a closed port and backs off', async () => {
    const { server, network, addr } = await setup();
    await server.close();
    const c = network.newClient('b', { addr });
    const req = { vote: { term: 4, nodeId: 'a', committed: false }, lastLogId: null };
    const e1 = await c.vote(req).catch((e: unknown) => e);
    expect(hasErrorCode(e1, ErrorCode.Unreachable)).toBe(true);
    const e2 = await c.vote(req).catch((e: unknown) => e);
    expect(hasErrorCode(e2, ErrorCode.Unreachable)).toBe(true);
    const bad = network.newClient('b', { addr: 'no-port' });
    await expect(bad.vote(req)).rejects.toMatchObject({ code: ErrorCode.Unreachable });
  });

  it('refuses a wrong cluster, a wrong target and a secret mismatch with typed handshake errors', async () => {
    const { addr, network } = await setup({ secret: 'right' }, { secret: 'right' });
    const req = { vote: { term: 4, nodeId: 'a', committed: false }, lastLogId: null };
    await expect(network.newClient('b', { addr }).vote(req)).resolves.toMatchObject({ voteGranted: true });
    await expect(network.newClient('c', { addr }).vote(req)).rejects.toMatchObject({ reason: 'target' });
    const cases = [
      [{ clusterId: 'other', secret: 'right' }, 'cluster'],
      [{ secret: 'wrong' }, 'auth'],
      [{}, 'auth'],
    ] as const;
    const { tcpNetwork } = await import('../src/index.ts');
    for (const [opts, reason] of cases) {
      const n = tcpNetwork({ clusterId: 'test', nodeId: 'a', ...opts });
      const err = await n
        .newClient('b', { addr })
        .vote(req)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HandshakeError);
      expect(err).toMatchObject({ code: ErrorCode.Unreachable, reason });
      await n.close();
    }
  });

  it('fails pending calls with NetworkError when the client closes', async () => {
    const { handler, client } = await setup();
    handler.vote = () => new Promise(() => {});
    const p = client.vote({ vote: { term: 4, nodeId: 'a', committed: false }, lastLogId: null });
    await new Promise((r) => setTimeout(r, 50));
    await client.close();
    await expect(p).rejects.toMatchObject({ code: ErrorCode.Network });
  });
});
