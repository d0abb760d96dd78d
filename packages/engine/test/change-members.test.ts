import type { Entry, Membership } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { Driver } from './driver.ts';
import { members, newEngine, preElectionStartup, winTerm2 } from './fixtures.ts';

// openraft's ChangeMembers through the engine: a voter change takes the joint step (Raft §6), a change
// of nodes only is one entry; `expectedMembershipLogId` is checked atomically with the proposal.

const node = (id: string) => ({ addr: id });
const m3: Membership = {
  configs: [['a', 'b', 'c']],
  nodes: { a: node('a'), b: node('b'), c: node('c'), d: node('d') },
};
const start: Entry[] = [{ logId: { term: 0, index: 0 }, payload: { type: 'membership', membership: m3 } }];

function cluster(): Driver {
  const v = { term: 0, nodeId: null, committed: false };
  const d = new Driver({
    a: { vote: v, log: start },
    b: { vote: v, log: start },
    c: { vote: v, log: start },
    d: { vote: v, log: start },
  });
  d.elect('a');
  expect(d.node('a').engine.serverState()).toBe('Leader');
  return d;
}

/** The configs of every membership entry in `id`'s log, in order. */
const configs = (d: Driver, id: string) =>
  d
    .node(id)
    .log.filter((e) => e.payload.type === 'membership')
    .map((e) => (e.payload as { membership: Membership }).membership.configs);

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    const e = err as { code?: string; reason?: string };
    return e.code === 'CHANGE_MEMBERSHIP' ? e.reason : `not a ChangeMembershipError: ${String(err)}`;
  }
  return undefined;
};

describe('Engine.changeMembers', () => {
  it('a nodes-only change (setNodes) is one entry, with no joint step', () => {
    const d = cluster();
    const a = d.node('a').engine;
    const res = a.changeMembers({ setNodes: { d: { addr: 'moved' } } }, {}, d.now);
    expect(res.voters).toEqual(['a', 'b', 'c']);
    d.run('a');
    d.settle();
    expect(configs(d, 'b')).toEqual([[['a', 'b', 'c']], [['a', 'b', 'c']]]);
    const m = a.membership().committed;
    expect(m.logId).toEqual(res.logId);
    expect(m.membership.nodes.d).toEqual({ addr: 'moved' });
    expect(a.membershipChangeInProgress()).toBe(false);
  });

  it('a batch that changes voters goes joint then uniform, with the nodes the batch gave', () => {
    const d = cluster();
    const a = d.node('a').engine;
    const res = a.changeMembers({ batch: [{ addVoterIds: ['d'] }, { removeVoters: ['b'] }] }, {}, d.now);
    expect(res.voters).toEqual(['a', 'c', 'd']);
    d.run('a');
    d.settle();
    expect(configs(d, 'c')).toEqual([
      [['a', 'b', 'c']],
      [
        ['a', 'b', 'c'],
        ['a', 'c', 'd'],
      ],
      [['a', 'c', 'd']],
    ]);
    // Not retained: b left the membership with the uniform config.
    expect(a.membership().committed.membership.nodes).not.toHaveProperty('b');
  });

  it('with retain, the removed voter stays as a learner', () => {
    const d = cluster();
    d.node('a').engine.changeMembers({ removeVoters: ['b'] }, { retain: true }, d.now);
    d.run('a');
    d.settle();
    const m = d.node('a').engine.membership().committed.membership;
    expect(m.configs).toEqual([['a', 'c']]);
    expect(m.nodes).toHaveProperty('b');
  });

  it('refuses removing a voter through removeNodes (NodeIsVoter) and appends nothing', () => {
    const d = cluster();
    const a = d.node('a').engine;
    const last = a.lastLogId();
    expect(reasonOf(() => a.changeMembers({ removeNodes: ['b'] }, {}, d.now))).toBe('NodeIsVoter');
    expect(a.lastLogId()).toEqual(last);
    expect(a.takeCommands()).toEqual([]);
    // A learner goes.
    a.changeMembers({ removeNodes: ['d'] }, {}, d.now);
    expect(a.membership().effective.membership.nodes).not.toHaveProperty('d');
  });

  it('expectedMembershipLogId: proposes on a match, refuses a mismatch (MembershipChanged) first', () => {
    const d = cluster();
    const a = d.node('a').engine;
    const at = a.membership().effective.logId;
    expect(at).toEqual({ term: 0, index: 0 });
    expect(
      reasonOf(() =>
        a.changeMembers({ addNodes: { e: node('e') } }, { expectedMembershipLogId: null }, d.now),
      ),
    ).toBe('MembershipChanged');
    expect(a.takeCommands()).toEqual([]);
    const first = a.changeMembers({ addNodes: { e: node('e') } }, { expectedMembershipLogId: at }, d.now);
    // Uncommitted: the old id is a mismatch; the new one finds the change in progress.
    expect(
      reasonOf(() => a.changeMembers({ removeNodes: ['e'] }, { expectedMembershipLogId: at }, d.now)),
    ).toBe('MembershipChanged');
    expect(
      reasonOf(() =>
        a.changeMembers({ removeNodes: ['e'] }, { expectedMembershipLogId: first.logId }, d.now),
      ),
    ).toBe('InProgress');
  });

  it('refuses on a follower with ForwardToLeader', () => {
    const d = cluster();
    expect(() => d.node('b').engine.changeMembers({ addVoterIds: ['d'] }, {}, d.now)).toThrowError(
      expect.objectContaining({ code: 'FORWARD_TO_LEADER' }),
    );
  });
});

describe('a target whose address changes (setNodes)', () => {
  it('gets its inflight released with its new stream, so that something is sent on it', () => {
    // Leader b of term 2 over a, b, c with learner d; d's probe (inflight 3) is unanswered.
    const e = newEngine('b', {}, preElectionStartup(members(['a', 'b', 'c'], ['d'])));
    winTerm2(e);
    expect(e.replicationMetrics()?.d).toEqual({ matching: null, mode: 'probing' });
    e.changeMembers({ setNodes: { d: { addr: 'moved' } } }, {}, 510);
    const cmds = e.takeCommands();
    const rebuild = cmds.find((c) => c.type === 'rebuildReplicationStreams');
    expect(rebuild).toMatchObject({ closeOldStreams: false });
    const toD = cmds.filter((c) => c.type === 'replicate' && c.target === 'd');
    expect(toD).toHaveLength(1);
    // A target that did not move keeps its inflight: nothing new is sent to c while its probe is out.
    expect(cmds.filter((c) => c.type === 'replicate' && c.target === 'c')).toHaveLength(0);
  });
});
