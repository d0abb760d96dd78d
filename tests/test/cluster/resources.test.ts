import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import type { NodeId, RaftNetworkFactory } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cmd, CONFIG, type KvState, nodesOf, type Resp, WAIT } from './harness.ts';

let nodes: Raft<Cmd, Resp>[] = [];
afterEach(async () => {
  for (const r of nodes) await r.shutdown();
  nodes = [];
});

/** Every client a node opened, per target, and whether it was closed. */
type Opened = Map<NodeId, { closed: boolean }[]>;

/** The router's factory for `from`, recording each client it hands out and its `close`. */
function tracking(router: MemoryRouter, from: NodeId, opened: Opened): RaftNetworkFactory {
  const inner = router.factory(from);
  return {
    newClient: (target, node) => {
      const client = inner.newClient(target, node);
      const rec = { closed: false };
      opened.set(target, [...(opened.get(target) ?? []), rec]);
      return {
        ...client,
        close: async () => {
          rec.closed = true;
          await client.close?.();
        },
      };
    },
  };
}

describe('resources of removed nodes', () => {
  it('a node closes every client it opened to a node removed from the membership', async () => {
    const router = new MemoryRouter();
    const opened = new Map<NodeId, Opened>();
    for (const id of ['a', 'b', 'c']) {
      const mine: Opened = new Map();
      opened.set(id, mine);
      const raft = await Raft.create<Cmd, Resp>({
        id,
        config: CONFIG,
        network: tracking(router, id, mine),
        logStore: memoryLogStore(),
        stateMachine: memoryStateMachine<KvState, Cmd, Resp>({
          initial: {},
          apply: (s, d) => [{ ...s, [d.key]: d.value }, s[d.key] ?? null] as const,
        }),
      });
      router.register(id, raft);
      nodes.push(raft);
    }
    const [a] = nodes as [Raft<Cmd, Resp>];
    await a.initialize(nodesOf(['a', 'b', 'c']));
    const leaderId = (await a.wait(WAIT).until((m) => m.currentLeader !== null, 'a leader')).currentLeader;
    const leader = nodes.find((n) => n.id === leaderId) as Raft<Cmd, Resp>;
    await leader
      .wait(WAIT)
      .until((m) => m.committed !== null && m.committed.term === m.currentTerm, 'the first commit');
    const removed = ['a', 'b', 'c'].find((id) => id !== leaderId) as NodeId;
    // The leader campaigned, so it holds a vote client to `removed` besides its replication stream.
    const before = opened.get(leader.id)?.get(removed) ?? [];
    expect(before.length).toBeGreaterThanOrEqual(2);
    await leader.changeMembership(['a', 'b', 'c'].filter((id) => id !== removed));
    await leader
      .wait(WAIT)
      .until(
        () => (opened.get(leader.id)?.get(removed) ?? []).every((c) => c.closed),
        `every client to ${removed} closed`,
      );
    expect((opened.get(leader.id)?.get(removed) ?? []).every((c) => c.closed)).toBe(true);
  });
});
