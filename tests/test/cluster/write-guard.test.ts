// The leader guard (openraft's `WriteRequest::with_leader`): a write with `expectedLeader` is refused
// with ForwardToLeader once this node's committed leader vote is not the expected one; malformed write
// options are refused with InvalidRequest before anything is queued.
import { MemoryRouter } from '@flotilla/memory';
import type { Raft } from '@flotilla/raft';
import { ErrorCode, hasErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, counterNode, nodesOf, WAIT } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function cluster() {
  const router = new MemoryRouter();
  for (const id of ['a', 'b', 'c']) await counterNode(router, id, nodes);
  const a = nodes[0] as Raft<number, number>;
  await a.initialize(nodesOf(['a', 'b', 'c']));
  const { currentLeader } = await a.wait(WAIT).until((m) => m.currentLeader !== null);
  const leader = nodes.find((n) => n.id === currentLeader) as Raft<number, number>;
  await leader.wait(WAIT).state('Leader');
  return { leader, others: nodes.filter((n) => n !== leader) };
}

describe('clientWrite({ expectedLeader })', () => {
  it('writes while the expected leader leads; refuses another term or node with ForwardToLeader', async () => {
    const { leader } = await cluster();
    const vote = leader.metrics.current.vote;
    expect(vote).toMatchObject({ nodeId: leader.id, committed: true });
    expect((await leader.clientWrite(2, { expectedLeader: vote })).response).toBe(2);
    expect(await leader.clientWriteFf(3, { expectedLeader: vote })).toMatchObject({ term: vote.term });
    const many = await leader.clientWriteMany([1, 1], { expectedLeader: vote });
    expect(many.map((r) => r.response)).toEqual([6, 7]);

    for (const expectedLeader of [
      { term: vote.term - 1, nodeId: leader.id },
      { term: vote.term + 1, nodeId: leader.id },
      { term: vote.term, nodeId: 'zz' },
    ]) {
      const err = await leader.clientWrite(100, { expectedLeader }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(hasErrorCode(err, ErrorCode.ForwardToLeader) && err.leaderId).toBe(leader.id);
      expect(await codeOf(leader.clientWriteFf(100, { expectedLeader }))).toBe('FORWARD_TO_LEADER');
      expect(await codeOf(leader.clientWriteMany([100], { expectedLeader }))).toBe('FORWARD_TO_LEADER');
      expect(await codeOf(leader.clientWrite(100, { expectedLeader, resolveAt: 'commit' }))).toBe(
        'FORWARD_TO_LEADER',
      );
    }
    // Refused writes were never appended; guarded and plain writes of one batch are told apart.
    const [ok, refused] = [
      leader.clientWrite(1, { expectedLeader: vote }),
      leader.clientWrite(100, { expectedLeader: { term: vote.term + 1, nodeId: leader.id } }),
    ];
    expect((await ok).response).toBe(8);
    expect(await codeOf(refused)).toBe('FORWARD_TO_LEADER');
  });

  it('after a leadership change, the new leader refuses a write that expects the old one', async () => {
    const { leader, others } = await cluster();
    const old = leader.metrics.current.vote;
    const next = others[0] as Raft<number, number>;
    await next
      .wait(WAIT)
      .until((m) => (m.lastApplied?.index ?? -1) >= (leader.metrics.current.committed?.index ?? 0));
    await leader.trigger.transferLeader(next.id);
    await next.wait(WAIT).state('Leader');
    expect(await codeOf(next.clientWrite(1, { expectedLeader: old }))).toBe('FORWARD_TO_LEADER');
    const now = next.metrics.current.vote;
    expect(now.term).toBeGreaterThan(old.term);
    expect((await next.clientWrite(1, { expectedLeader: now })).logId.term).toBe(now.term);
  });

  it('malformed write options are refused with InvalidRequest', async () => {
    const { leader } = await cluster();
    const bad: unknown[] = [
      null,
      5,
      { resolveAt: 'later' },
      { expectedLeader: 'a' },
      { expectedLeader: null },
      { expectedLeader: { term: -1, nodeId: 'a' } },
      { expectedLeader: { term: 1.5, nodeId: 'a' } },
      { expectedLeader: { term: 1, nodeId: '' } },
      { expectedLeader: { term: 1, nodeId: null } },
    ];
    for (const opts of bad) {
      const write = leader.clientWrite as (d: number, o: unknown) => Promise<unknown>;
      const ff = leader.clientWriteFf as (d: number, o: unknown) => Promise<unknown>;
      const many = leader.clientWriteMany as (d: number[], o: unknown) => Promise<unknown>;
      expect(await codeOf(write.call(leader, 1, opts))).toBe('INVALID_REQUEST');
      expect(await codeOf(ff.call(leader, 1, opts))).toBe('INVALID_REQUEST');
      expect(await codeOf(many.call(leader, [1], opts))).toBe('INVALID_REQUEST');
    }
    const ff = leader.clientWriteFf as (d: number, o: unknown) => Promise<unknown>;
    expect(await codeOf(ff.call(leader, 1, { resolveAt: 'commit' }))).toBe('INVALID_REQUEST');
    expect(await codeOf(ff.call(leader, 1, { onOutcome: 'x' }))).toBe('INVALID_REQUEST');
    // Nothing was written.
    expect((await leader.clientWrite(1)).response).toBe(1);
  });
});
