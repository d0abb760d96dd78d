// Plain and fire-and-forget writes proposed in one loop turn share one batch: each gets its own
// log id and outcome, in proposal order (the leader keeps them as parallel slots, so a misaligned
// slot would answer the wrong write).
import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { type ClientWriteResponse, Raft } from '@flotilla/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function leaderOfThree(): Promise<Raft<number, number>> {
  const router = new MemoryRouter();
  for (const id of ['a', 'b', 'c']) {
    const raft = await Raft.create<number, number>({
      id,
      config: CONFIG,
      network: router.factory(id),
      logStore: memoryLogStore(),
      stateMachine: memoryStateMachine<number, number, number>({
        initial: 0,
        apply: (s, n) => [s + n, s + n] as const,
      }),
    });
    router.register(id, raft);
    nodes.push(raft);
  }
  const [a] = nodes as [Raft<number, number>];
  await a.initialize({ a: { addr: 'a' }, b: { addr: 'b' }, c: { addr: 'c' } });
  const { currentLeader } = await a.wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader !== null);
  const leader = nodes.find((n) => n.id === currentLeader) as Raft<number, number>;
  await leader.wait({ timeoutMs: 10_000 }).state('Leader');
  return leader;
}

describe('a batch of plain and fire-and-forget writes', () => {
  it('answers each write with its own log id and response, in proposal order', async () => {
    const leader = await leaderOfThree();
    const outcomes: (ClientWriteResponse<number> | Error)[] = [];
    // All proposed in one synchronous turn: one batch, plain writes before and after the ff ones.
    const w1 = leader.clientWrite(1);
    const f2 = leader.clientWriteFf(2, { onOutcome: (o) => outcomes.push(o) });
    const w3 = leader.clientWrite(3);
    const f4 = leader.clientWriteFf(4); // outcome dropped
    const w5 = leader.clientWrite(5);
    const [r1, id2, r3, id4, r5] = await Promise.all([w1, f2, w3, f4, w5]);
    expect([r1.response, r3.response, r5.response]).toEqual([1, 6, 15]);
    expect([id2.index, r3.logId.index, id4.index, r5.logId.index]).toEqual(
      [1, 2, 3, 4].map((k) => r1.logId.index + k),
    );
    await leader.wait({ timeoutMs: 10_000 }).appliedIndex(r5.logId.index, 'all applied');
    expect(outcomes).toEqual([{ logId: id2, response: 3 }]);
  });
});
