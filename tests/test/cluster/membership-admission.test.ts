import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import { ErrorCode, isMember, type Node, type RaftNetworkFactory } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG, codeOf, TestCluster } from './harness.ts';

// What a node must show before it joins: an address the transport can use (validateAddress), and,
// for a blocking addLearner, a log within replicationLagThreshold entries of the leader's (openraft).

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

/** A cluster whose leader a (the only voter) holds `writes` entries; b and c started, not members. */
async function withLog(threshold: number, writes = 20): Promise<TestCluster> {
  const cl = await TestCluster.create(['a', 'b', 'c'], {
    voters: ['a'],
    config: { replicationLagThreshold: threshold },
  });
  c = cl;
  await cl.raft('a').clientWriteMany(Array.from({ length: writes }, (_, i) => ({ key: 'k', value: i })));
  return cl;
}

describe('blocking addLearner honours replicationLagThreshold', () => {
  it('with a large threshold it returns before the learner has anything', async () => {
    const cl = await withLog(1000);
    cl.router.isolate('b');
    const res = await cl.raft('a').addLearner('b', { addr: 'b' }, { timeoutMs: 5000 });
    expect(res.added).toBe(true);
    expect(cl.raft('a').metrics.current.replication?.b?.matching ?? null).toBeNull();
  });

  it('with 0 it waits until the learner matches the last log index', async () => {
    const cl = await withLog(0);
    cl.router.isolate('b');
    expect(await codeOf(cl.raft('a').addLearner('b', { addr: 'b' }, { timeoutMs: 1500 }))).toBe(
      ErrorCode.Timeout,
    );
    cl.router.heal('b');
    const again = await cl.raft('a').addLearner('b', { addr: 'b' }, { timeoutMs: 10_000 });
    expect(again.added).toBe(false);
    const m = cl.raft('a').metrics.current;
    expect(m.replication?.b?.matching?.index).toBe(m.lastLogIndex);
  });
});

/** The memory router, with a validateAddress that refuses addresses starting with "bad". */
function strictFactory(router: MemoryRouter, id: string): RaftNetworkFactory {
  const inner = router.factory(id);
  return {
    newClient: (target, node) => inner.newClient(target, node),
    validateAddress: (node: Node) => (node.addr.startsWith('bad') ? 'expected host:port' : null),
  };
}

const track: Raft<number, number>[] = [];
afterEach(async () => {
  for (const r of track.splice(0)) await r.shutdown();
});

async function strictNode(router: MemoryRouter, id: string): Promise<Raft<number, number>> {
  const raft = await Raft.create<number, number>({
    id,
    config: CONFIG,
    network: strictFactory(router, id),
    logStore: memoryLogStore(),
    stateMachine: memoryStateMachine<number, number, number>({
      initial: 0,
      apply: (s, n) => [s + n, s + n] as const,
    }),
  });
  router.register(id, raft);
  track.push(raft);
  return raft;
}

async function refusal(p: Promise<unknown>): Promise<{ code?: string; path?: string; message?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; path?: string };
  }
  throw new Error('expected a rejection');
}

describe('RaftNetworkFactory.validateAddress', () => {
  it('is asked by initialize, addLearner and every changeMembership form that brings nodes', async () => {
    const router = new MemoryRouter();
    const a = await strictNode(router, 'a');
    await strictNode(router, 'b');
    const init = await refusal(a.initialize({ a: { addr: 'bad-a' } }));
    expect(init).toMatchObject({ code: ErrorCode.InvalidRequest, path: 'nodes.a.addr' });
    expect(init.message).toContain('expected host:port');
    expect(a.isInitialized()).toBe(false);
    await a.initialize({ a: { addr: 'a' } });
    await a.wait({ timeoutMs: 10_000 }).state('Leader');
    const last = a.metrics.current.lastLogIndex;

    expect(await refusal(a.addLearner('b', { addr: 'bad-b' }))).toMatchObject({
      code: ErrorCode.InvalidRequest,
      path: 'node.b.addr',
    });
    const bad = { addr: 'bad-b' };
    for (const changes of [
      { addVoters: { b: bad } },
      { addNodes: { b: bad } },
      { setNodes: { a: { addr: 'bad-a' } } },
      { replaceAllNodes: { a: { addr: 'a' }, b: bad } },
      { batch: [{ removeNodes: ['x'] }, { addNodes: { b: bad } }] },
    ]) {
      const err = await refusal(a.changeMembership(changes));
      expect(err, JSON.stringify(changes)).toMatchObject({ code: ErrorCode.InvalidRequest });
      expect(err.path).toMatch(/^changes\.[ab]\.addr$/);
      const errIf = await refusal(a.changeMembershipIf(a.metrics.current.membership.logId, changes));
      expect(errIf).toMatchObject({ code: ErrorCode.InvalidRequest });
    }
    // Nothing was proposed.
    expect(a.metrics.current.lastLogIndex).toBe(last);
    expect(isMember(a.metrics.current.membership.membership, 'b')).toBe(false);
    // A good address goes through.
    await a.addLearner('b', { addr: 'b' });
    expect(isMember(a.metrics.current.membership.membership, 'b')).toBe(true);
  });
});
