import { ErrorCode, isLearner, isMember, voterIds } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, TestCluster, WAIT } from './harness.ts';

// Every form of openraft's ChangeMembers through `Raft.changeMembership`, over the memory router.

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

/** Voters a, b, c; the other `ids` started but not members. Returns the leader's id. */
async function cluster(extra: string[] = []): Promise<string> {
  c = await TestCluster.create(['a', 'b', 'c', ...extra], { voters: ['a', 'b', 'c'] });
  return c.leader(['a', 'b', 'c']);
}

const membershipOf = (id: string) => c!.raft(id).metrics.current.membership;
const voters = (id: string) => voterIds(membershipOf(id).membership);

async function rejection(p: Promise<unknown>): Promise<{ code?: string; reason?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; reason?: string };
  }
  throw new Error('expected a rejection');
}

describe('changeMembership with ChangeMembers', () => {
  it('addVoters: a new node joins as a learner, catches up, then votes, in one call', async () => {
    const l = await cluster(['d']);
    const w = await c!.raft(l).clientWrite({ key: 'k', value: 1 });
    const res = await c!.raft(l).changeMembership({ addVoters: { d: { addr: 'd' } } });
    expect(voters(l)).toEqual(['a', 'b', 'c', 'd']);
    expect(membershipOf(l).membership.configs).toHaveLength(1);
    expect(res.logId).toEqual(membershipOf(l).logId);
    await c!.raft('d').wait(WAIT).appliedIndex(w.logId.index);
    // The learner step, the joint config and the uniform one: three membership entries after init.
    expect(c!.raft('d').metrics.current.membership.logId).toEqual(res.logId);
  });

  it('addVoterIds makes a learner a voter; unknown ids are refused (LearnerNotFound)', async () => {
    const l = await cluster(['d']);
    await c!.raft(l).addLearner('d', { addr: 'd' });
    const bad = await rejection(c!.raft(l).changeMembership({ addVoterIds: ['x'] }));
    expect(bad).toMatchObject({ code: ErrorCode.ChangeMembership, reason: 'LearnerNotFound' });
    await c!.raft(l).changeMembership({ addVoterIds: ['d'] });
    expect(voters(l)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('removeVoters removes a voter (gone without retain, a learner with it)', async () => {
    const l = await cluster();
    const [x, y] = ['a', 'b', 'c'].filter((id) => id !== l) as [string, string];
    await c!.raft(l).changeMembership({ removeVoters: [x] });
    expect(isMember(membershipOf(l).membership, x)).toBe(false);
    await c!.raft(l).changeMembership({ removeVoters: [y] }, { retain: true });
    expect(isLearner(membershipOf(l).membership, y)).toBe(true);
    expect(voters(l)).toEqual([l]);
  });

  it('replaceAllVoters replaces the voter set (as a plain list does)', async () => {
    const l = await cluster(['d']);
    await c!.raft(l).addLearner('d', { addr: 'd' });
    const keep = ['a', 'b', 'c'].filter((id) => id !== l).slice(0, 1);
    await c!.raft(l).changeMembership({ replaceAllVoters: [l, ...keep, 'd'] });
    expect(voters(l)).toEqual([l, ...keep, 'd'].sort());
  });

  it('addNodes adds learners in one entry, with no joint step, and keeps an existing node', async () => {
    const l = await cluster(['d', 'e']);
    const before = c!.raft(l).metrics.current.lastLogIndex ?? 0;
    const res = await c!
      .raft(l)
      .changeMembership({ addNodes: { d: { addr: 'd' }, e: { addr: 'e' }, a: { addr: 'x' } } });
    expect(res.logId.index).toBe(before + 1);
    const m = membershipOf(l).membership;
    expect(isLearner(m, 'd') && isLearner(m, 'e')).toBe(true);
    expect(m.nodes.a).toEqual({ addr: 'a' });
    await c!.raft('e').wait(WAIT).appliedIndex(res.logId.index);
  });

  it('setNodes changes a node address, visible in every node metrics', async () => {
    const l = await cluster(['d']);
    await c!.raft(l).addLearner('d', { addr: 'd' });
    const res = await c!
      .raft(l)
      .changeMembership({ setNodes: { d: { addr: 'd-moved', data: { zone: 'z1' } } } });
    for (const id of ['a', 'b', 'c', 'd']) {
      const m = await c!
        .raft(id)
        .wait(WAIT)
        .until((x) => x.membership.logId?.index === res.logId.index, `${id} to see the new address`);
      expect(m.membership.membership.nodes.d).toEqual({ addr: 'd-moved', data: { zone: 'z1' } });
    }
  });

  it('removeNodes removes a learner; a voter is refused with NodeIsVoter and nothing is appended', async () => {
    const l = await cluster(['d']);
    await c!.raft(l).addLearner('d', { addr: 'd' });
    const last = c!.raft(l).metrics.current.lastLogIndex;
    const err = await rejection(c!.raft(l).changeMembership({ removeNodes: ['b'] }));
    expect(err).toMatchObject({ code: ErrorCode.ChangeMembership, reason: 'NodeIsVoter' });
    expect(c!.raft(l).metrics.current.lastLogIndex).toBe(last);
    await c!.raft(l).changeMembership({ removeNodes: ['d'] });
    expect(isMember(membershipOf(l).membership, 'd')).toBe(false);
    expect(c!.raft(l).metrics.current.replication).not.toHaveProperty('d');
  });

  it('replaceAllNodes replaces every node; dropping a voter node is refused', async () => {
    const l = await cluster(['d']);
    await c!.raft(l).addLearner('d', { addr: 'd' });
    const err = await rejection(c!.raft(l).changeMembership({ replaceAllNodes: { a: { addr: 'a' } } }));
    expect(err).toMatchObject({ reason: 'NodeIsVoter' });
    await c!.raft(l).changeMembership({
      replaceAllNodes: { a: { addr: 'a' }, b: { addr: 'b2' }, c: { addr: 'c' } },
    });
    const m = membershipOf(l).membership;
    expect(Object.keys(m.nodes).sort()).toEqual(['a', 'b', 'c']);
    expect(m.nodes.b).toEqual({ addr: 'b2' });
  });

  it('batch applies its changes in order, through one joint step', async () => {
    const l = await cluster(['d', 'e']);
    const x = ['a', 'b', 'c'].find((id) => id !== l) as string;
    const before = c!.raft(l).metrics.current.lastLogIndex ?? 0;
    const res = await c!.raft(l).changeMembership(
      {
        batch: [
          { addNodes: { d: { addr: 'd' }, e: { addr: 'e' } } },
          { addVoterIds: ['d'] },
          { removeVoters: [x] },
        ],
      },
      { retain: true },
    );
    // joint + uniform: two entries (addNodes needs no learner step).
    expect(res.logId.index).toBe(before + 2);
    const m = membershipOf(l).membership;
    expect(voterIds(m)).toEqual(['a', 'b', 'c', 'd'].filter((id) => id !== x));
    expect(isLearner(m, 'e') && isLearner(m, x)).toBe(true);
  });

  it('changeMembershipIf proposes on a match and refuses a mismatch with MembershipChanged', async () => {
    const l = await cluster(['d']);
    const at = membershipOf(l).logId;
    const res = await c!.raft(l).changeMembershipIf(at, { addNodes: { d: { addr: 'd' } } });
    expect(membershipOf(l).logId).toEqual(res.logId);
    const last = c!.raft(l).metrics.current.lastLogIndex;
    const err = await rejection(c!.raft(l).changeMembershipIf(at, { removeNodes: ['d'] }));
    expect(err).toMatchObject({ code: ErrorCode.ChangeMembership, reason: 'MembershipChanged' });
    expect(c!.raft(l).metrics.current.lastLogIndex).toBe(last);
    expect(isMember(membershipOf(l).membership, 'd')).toBe(true);
    // A voter change with the right id goes through both steps.
    await c!.raft(l).changeMembershipIf(res.logId, { addVoterIds: ['d'] });
    expect(voters(l)).toEqual(['a', 'b', 'c', 'd']);
    expect(await codeOf(c!.raft(l).changeMembershipIf({ term: -1, index: 0 }, { addVoterIds: [] }))).toBe(
      ErrorCode.InvalidRequest,
    );
  });

  it('a malformed change is refused with InvalidRequest before anything is proposed', async () => {
    const l = await cluster();
    const last = c!.raft(l).metrics.current.lastLogIndex;
    for (const bad of [
      { RemoveNodes: ['a'] },
      { addNodes: { d: 'd' } },
      { removeNodes: ['a'], addNodes: {} },
    ]) {
      expect(await codeOf(c!.raft(l).changeMembership(bad as never))).toBe(ErrorCode.InvalidRequest);
    }
    expect(c!.raft(l).metrics.current.lastLogIndex).toBe(last);
  });
});
