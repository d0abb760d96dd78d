// Writes resolved at commit (openraft's commit-stage responder): `{ resolveAt: 'commit' }` resolves
// with the log id once the entry is committed, before the state machine applied it; the entry is
// still applied; a retried write of a client session is applied once; a stop before the commit
// fails the write.
import { MemoryRouter, type MemoryStateMachine, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft, type WriteOptions, withClientSessions } from '@flotilla/raft';
import type { RaftStateMachine } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG, codeOf, nodesOf, WAIT } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

/** A state machine whose applies wait while the gate is closed. */
function gated(sm: RaftStateMachine<number, number>): {
  sm: RaftStateMachine<number, number>;
  close(): void;
  open(): void;
} {
  let gate: Promise<void> = Promise.resolve();
  let release = (): void => {};
  const proxy = new Proxy(sm, {
    get(target, key) {
      if (key === 'apply') {
        return async (entries: Parameters<typeof target.apply>[0]) => {
          await gate;
          return target.apply(entries);
        };
      }
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return {
    sm: proxy,
    close: () => {
      gate = new Promise((r) => {
        release = r;
      });
    },
    open: () => release(),
  };
}

async function cluster(opts: { sessions?: boolean } = {}) {
  const router = new MemoryRouter();
  const counters = new Map<string, MemoryStateMachine<number, number, number>>();
  const gates = new Map<string, ReturnType<typeof gated>>();
  for (const id of ['a', 'b', 'c']) {
    const counter = memoryStateMachine<number, number, number>({
      initial: 0,
      apply: (s, n) => [s + n, s + n] as const,
    });
    counters.set(id, counter);
    const g = gated(opts.sessions === true ? withClientSessions(counter) : counter);
    gates.set(id, g);
    const raft = await Raft.create<number, number>({
      id,
      config: CONFIG,
      network: router.factory(id),
      logStore: memoryLogStore(),
      stateMachine: g.sm,
    });
    router.register(id, raft);
    nodes.push(raft);
  }
  await (nodes[0] as Raft<number, number>).initialize(nodesOf(['a', 'b', 'c']));
  const { currentLeader } = await (nodes[0] as Raft<number, number>)
    .wait(WAIT)
    .until((m) => m.currentLeader !== null);
  const leader = nodes.find((n) => n.id === currentLeader) as Raft<number, number>;
  await leader.wait(WAIT).state('Leader');
  await leader.wait(WAIT).until((m) => m.lastApplied !== null && m.lastApplied.index === m.lastLogIndex);
  return {
    router,
    leader,
    counter: counters.get(leader.id) as MemoryStateMachine<number, number, number>,
    gate: gates.get(leader.id) as ReturnType<typeof gated>,
  };
}

describe("clientWrite({ resolveAt: 'commit' })", () => {
  it('resolves with the log id once committed, while the apply is held back; the write is applied later', async () => {
    const { leader, counter, gate } = await cluster();
    gate.close();
    let appliedWriteDone = false;
    const applyWrite = leader.clientWrite(5).then((r) => {
      appliedWriteDone = true;
      return r;
    });
    const committed = await leader.clientWrite(2, { resolveAt: 'commit' });
    expect(Object.keys(committed)).toEqual(['logId']); // no state-machine response
    const m = leader.metrics.current;
    expect(m.committed?.index).toBeGreaterThanOrEqual(committed.logId.index);
    expect((m.lastApplied?.index ?? -1) < committed.logId.index).toBe(true); // not applied yet
    expect(appliedWriteDone).toBe(false); // a write resolved at apply still waits
    expect(counter.state).toBe(0);
    gate.open();
    expect((await applyWrite).response).toBe(5);
    await leader.wait(WAIT).appliedIndex(committed.logId.index);
    expect(counter.state).toBe(7);
  });

  it('options typed as WriteOptions resolve as their resolveAt says, decided at run time', async () => {
    const { leader } = await cluster();
    const stages: WriteOptions[] = [{ resolveAt: 'commit' }, {}];
    const [committed, applied] = await Promise.all(stages.map((opts, i) => leader.clientWrite(i + 1, opts)));
    expect(committed && 'response' in committed).toBe(false);
    expect(applied && 'response' in applied ? applied.response : null).toBe(3);
  });

  it('clientWriteMany resolves each write at commit, in log order', async () => {
    const { leader, counter, gate } = await cluster();
    gate.close();
    const res = await leader.clientWriteMany([1, 2, 3], { resolveAt: 'commit' });
    expect(res.map((r) => r.logId.index)).toEqual([0, 1, 2].map((k) => (res[0]?.logId.index ?? 0) + k));
    expect(counter.state).toBe(0);
    gate.open();
    await leader.wait(WAIT).appliedIndex(res[2]?.logId.index ?? 0);
    expect(counter.state).toBe(6);
  });

  it('a retried write of a client session resolves at commit and is applied once', async () => {
    const { leader, counter } = await cluster({ sessions: true });
    const session = { clientId: 'c1', sequence: 1, resolveAt: 'commit' } as const;
    const first = await leader.clientWrite(4, session);
    const retry = await leader.clientWrite(4, session);
    expect(retry.logId.index).toBeGreaterThan(first.logId.index);
    await leader.wait(WAIT).appliedIndex(retry.logId.index);
    expect(counter.state).toBe(4);
  });

  it('a stop before the commit fails the write (OutcomeUnknown once appended)', async () => {
    const { router, leader } = await cluster();
    for (const id of ['a', 'b', 'c']) if (id !== leader.id) router.isolate(id); // no quorum: no commit
    const write = leader.clientWrite(1, { resolveAt: 'commit' });
    await leader.wait(WAIT).until((m) => (m.lastLogIndex ?? -1) > (m.committed?.index ?? -1));
    await leader.shutdown();
    expect(await codeOf(write)).toBe('OUTCOME_UNKNOWN');
    expect(await codeOf(leader.clientWrite(1, { resolveAt: 'commit' }))).toBe('STOPPED');
  });
});
