// openraft's escape hatches through the public API: withStateMachine (runs between applies),
// withRaftState (a frozen copy of the Raft state, in the core loop), externalRequest (fire-and-forget
// in the core loop); each refuses with StoppedError after shutdown and InvalidRequest for a non-function.
import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft, type RaftStateView } from '@flotilla/raft';
import type { ApplyEntry } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG, codeOf, counterNode, nodesOf, recordingLogger, WAIT } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function cluster() {
  const router = new MemoryRouter();
  const logger = recordingLogger();
  for (const id of ['a', 'b', 'c']) await counterNode(router, id, nodes, id === 'a' ? { logger } : {});
  const a = nodes[0] as Raft<number, number>;
  await a.initialize(nodesOf(['a', 'b', 'c']));
  const { currentLeader } = await a.wait(WAIT).until((m) => m.currentLeader !== null);
  const leader = nodes.find((n) => n.id === currentLeader) as Raft<number, number>;
  await leader.wait(WAIT).state('Leader');
  return { leader, a, logger, others: nodes.filter((n) => n !== leader) };
}

describe('withStateMachine', () => {
  it('runs fn on the state machine with no apply meanwhile; resolves with its result; its error rejects only the call', async () => {
    const router = new MemoryRouter();
    const counter = memoryStateMachine<number, number, number>({
      initial: 0,
      apply: (s, n) => [s + n, s + n] as const,
    });
    const applying: number[] = [];
    let inFn = false;
    const sm = {
      ...Object.fromEntries(
        (['appliedState', 'snapshotBuilder', 'installSnapshot', 'getCurrentSnapshot'] as const).map((k) => [
          k,
          counter[k].bind(counter),
        ]),
      ),
      apply: async (entries: readonly ApplyEntry<number>[]) => {
        if (inFn) applying.push(entries.length); // an apply while fn ran: the test fails below
        return counter.apply(entries);
      },
    } as unknown as typeof counter;
    const raft = await Raft.create<number, number>({
      id: 'a',
      config: CONFIG,
      network: router.factory('a'),
      logStore: memoryLogStore(),
      stateMachine: sm,
    });
    nodes.push(raft);
    router.register('a', raft);
    await raft.initialize(nodesOf(['a']));
    await raft.wait(WAIT).state('Leader');
    await raft.clientWrite(1);

    let writes: Promise<unknown>[] = [];
    const seen = await raft.withStateMachine(async (s) => {
      expect(s).toBe(sm); // the state machine the node was created with
      inFn = true;
      // Committed meanwhile (a single voter), applied only once fn settled.
      writes = [raft.clientWrite(2, { resolveAt: 'commit' }), raft.clientWrite(3)];
      await writes[0];
      await new Promise((r) => setTimeout(r, 50));
      const value = counter.state;
      inFn = false;
      return value;
    });
    await Promise.all(writes);
    expect(seen).toBe(1);
    expect(applying).toEqual([]);
    expect(counter.state).toBe(6);

    // After a write resolved at commit, withStateMachine sees it applied (queued behind the apply).
    await raft.clientWrite(4, { resolveAt: 'commit' });
    expect(await raft.withStateMachine(() => counter.state)).toBe(10);

    const boom = new Error('boom');
    await expect(
      raft.withStateMachine(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    await expect(raft.withStateMachine(() => Promise.reject(boom))).rejects.toBe(boom);
    expect((await raft.clientWrite(1)).response).toBe(11); // the node runs on
    expect(await codeOf(raft.withStateMachine('x' as never))).toBe('INVALID_REQUEST');
  });
});

describe('withRaftState', () => {
  it('hands fn a frozen deep copy of the Raft state, leader progress included', async () => {
    const { leader, others } = await cluster();
    const { logId } = await leader.clientWrite(5);
    await leader.wait(WAIT).appliedIndex(logId.index);
    const s = await leader.withRaftState((st) => st);
    expect(s).toMatchObject({
      id: leader.id,
      serverState: 'Leader',
      vote: leader.metrics.current.vote,
      currentLeader: leader.id,
      lastLogId: logId,
      committed: logId,
      applied: logId,
      purged: null,
      snapshot: null,
    });
    expect(s.membership.effective.membership.configs).toEqual([['a', 'b', 'c']]);
    expect(s.membership.committed).toEqual(s.membership.effective);
    const followers = others.map((n) => n.id).sort();
    expect(Object.keys(s.progress ?? {}).sort()).toEqual(followers);

    // Frozen at every level: mutation throws (ES modules are strict) and the node is unaffected.
    const mutable = s as unknown as {
      vote: { term: number };
      committed: { index: number };
      membership: { effective: { membership: { configs: string[][]; nodes: Record<string, unknown> } } };
      progress: Record<string, { matching: unknown }>;
    };
    expect(Object.isFrozen(s)).toBe(true);
    expect(() => {
      mutable.vote.term = 99;
    }).toThrow(TypeError);
    expect(() => {
      mutable.committed.index = 99;
    }).toThrow(TypeError);
    expect(() => {
      mutable.membership.effective.membership.configs[0]?.push('z');
    }).toThrow(TypeError);
    expect(() => {
      mutable.membership.effective.membership.nodes.z = { addr: 'z' };
    }).toThrow(TypeError);
    expect(() => {
      (mutable.progress[followers[0] as string] as { matching: unknown }).matching = null;
    }).toThrow(TypeError);
    const again = await leader.withRaftState((st) => st);
    expect(again).toEqual(s);
    expect(again).not.toBe(s);
    expect((await leader.clientWrite(1)).response).toBe(6);

    // A follower has no progress; fn's error rejects the call only.
    const f = others[0] as Raft<number, number>;
    expect(await f.withRaftState((st) => [st.serverState, st.progress])).toEqual(['Follower', null]);
    const boom = new Error('boom');
    await expect(
      f.withRaftState(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await f.withRaftState((st) => st.id)).toBe(f.id);
    expect(await codeOf(f.withRaftState(7 as never))).toBe('INVALID_REQUEST');
  });
});

describe('externalRequest', () => {
  it('runs fn in the core loop with the frozen state, fire-and-forget; a throw is logged, not fatal', async () => {
    const { leader, a, logger } = await cluster();
    const seen = new Promise<RaftStateView>((resolve) => {
      leader.externalRequest(resolve);
    });
    expect(leader.externalRequest(() => {})).toBeUndefined();
    const st = await seen;
    expect(st.serverState).toBe('Leader');
    expect(Object.isFrozen(st.vote)).toBe(true);

    a.externalRequest(() => {
      throw new Error('boom');
    });
    const after = await a.withRaftState((s) => s.id); // queued behind the request: it ran
    expect(after).toBe('a');
    expect(logger.lines.some((l) => l.level === 'warn' && l.msg === 'an external request threw')).toBe(true);
    expect(() => a.externalRequest(null as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
  });
});

describe('after shutdown', () => {
  it('each escape hatch refuses with StoppedError', async () => {
    const { leader } = await cluster();
    await leader.shutdown();
    expect(await codeOf(leader.withStateMachine(() => 1))).toBe('STOPPED');
    expect(await codeOf(leader.withRaftState(() => 1))).toBe('STOPPED');
    expect(() => leader.externalRequest(() => {})).toThrow(expect.objectContaining({ code: 'STOPPED' }));
  });
});
