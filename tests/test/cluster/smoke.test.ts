import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import { describe, expect, it } from 'vitest';

type Cmd = { key: string; value: number };

async function cluster(ids: string[]) {
  const router = new MemoryRouter();
  const nodes = new Map<string, Raft<Cmd, number>>();
  for (const id of ids) {
    const raft = await Raft.create<Cmd, number>({
      id,
      config: { heartbeatIntervalMs: 50, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600 },
      network: router.factory(id),
      logStore: memoryLogStore(),
      stateMachine: memoryStateMachine<Record<string, number>, Cmd, number>({
        initial: {},
        apply: (s, d) => [{ ...s, [d.key]: d.value }, d.value * 2] as const,
      }),
    });
    router.register(id, raft);
    nodes.set(id, raft);
  }
  return { router, nodes };
}

describe('cluster smoke', () => {
  it('elects a leader, replicates writes and applies them everywhere', async () => {
    const { nodes } = await cluster(['a', 'b', 'c']);
    const a = nodes.get('a')!;
    await a.initialize({ a: { addr: 'a' }, b: { addr: 'b' }, c: { addr: 'c' } });
    const m = await a.wait({ timeoutMs: 10_000 }).until((x) => x.currentLeader !== null, 'a leader');
    const leader = nodes.get(m.currentLeader!)!;
    await leader.wait({ timeoutMs: 10_000 }).state('Leader');
    const res = await leader.clientWrite({ key: 'x', value: 21 });
    expect(res.response).toBe(42);
    const many = await leader.clientWriteMany([
      { key: 'y', value: 1 },
      { key: 'z', value: 2 },
    ]);
    expect(many.map((r) => r.response)).toEqual([2, 4]);
    for (const n of nodes.values()) await n.wait({ timeoutMs: 10_000 }).appliedIndex(many[1]!.logId.index);
    await leader.ensureLinearizable();
    await Promise.all([...nodes.values()].map((n) => n.shutdown()));
  });
});
