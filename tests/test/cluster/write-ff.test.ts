// clientWriteFf (openraft's client_write_ff): resolves with the log id once the leader appended the
// entry; the outcome goes to onOutcome, or is dropped; a follower refuses it with ForwardToLeader.
import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { type ClientWriteResponse, Raft } from '@flotilla/raft';
import { ErrorCode, hasErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function cluster() {
  const router = new MemoryRouter();
  const sms = new Map<string, ReturnType<typeof memoryStateMachine<number, number, number>>>();
  for (const id of ['a', 'b', 'c']) {
    const sm = memoryStateMachine<number, number, number>({
      initial: 0,
      apply: (s, n) => [s + n, s + n] as const,
    });
    sms.set(id, sm);
    const raft = await Raft.create<number, number>({
      id,
      config: CONFIG,
      network: router.factory(id),
      logStore: memoryLogStore(),
      stateMachine: sm,
    });
    router.register(id, raft);
    nodes.push(raft);
  }
  const [a] = nodes as [Raft<number, number>];
  await a.initialize({ a: { addr: 'a' }, b: { addr: 'b' }, c: { addr: 'c' } });
  const { currentLeader } = await a.wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader !== null);
  const leader = nodes.find((n) => n.id === currentLeader) as Raft<number, number>;
  await leader.wait({ timeoutMs: 10_000 }).state('Leader');
  return { leader, follower: nodes.find((n) => n !== leader) as Raft<number, number>, sms };
}

describe('clientWriteFf', () => {
  it('resolves with the log id on append; the outcome reaches onOutcome; without it, it is dropped', async () => {
    const { leader, sms } = await cluster();
    const outcomes: (ClientWriteResponse<number> | Error)[] = [];
    const first = await leader.clientWriteFf(2, { onOutcome: (o) => outcomes.push(o) });
    const second = await leader.clientWriteFf(3); // outcome dropped
    expect(second.index).toBe(first.index + 1);
    await leader.wait({ timeoutMs: 10_000 }).appliedIndex(second.index, 'both writes applied');
    expect(outcomes).toEqual([{ logId: first, response: 2 }]);
    expect(sms.get(leader.id)?.state).toBe(5);
    // a normal write after them sees both
    expect((await leader.clientWrite(1)).response).toBe(6);
  });

  it('a follower refuses it with ForwardToLeader naming the leader, before any log id', async () => {
    const { leader, follower } = await cluster();
    await follower.wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader === leader.id);
    const err = await follower.clientWriteFf(1).then(
      () => null,
      (e: unknown) => e,
    );
    expect(hasErrorCode(err, ErrorCode.ForwardToLeader) && err.leaderId).toBe(leader.id);
  });

  it('bad session options are refused like clientWrite’s', async () => {
    const { leader } = await cluster();
    await expect(leader.clientWriteFf(1, { clientId: '', sequence: 1 })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });
});
