import { describe, expect, it } from 'vitest';
import {
  addVotersOf,
  type ChangeMembers,
  changeMembersTarget,
  type Membership,
  nodesOfChangeMembers,
  planChangeMembers,
  validateChangeMembers,
} from './membership.ts';

const n = (id: string) => ({ addr: `${id}:1` });
/** Voters a, b, c; learner d. */
const base = (): Membership => ({
  configs: [['a', 'b', 'c']],
  nodes: { a: n('a'), b: n('b'), c: n('c'), d: n('d') },
});

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    const e = err as { code?: string; reason?: string };
    return e.code === 'CHANGE_MEMBERSHIP' ? e.reason : `not a ChangeMembershipError: ${String(err)}`;
  }
  return undefined;
};

describe('changeMembersTarget (openraft compute_target_membership)', () => {
  const cases: [string, ChangeMembers, string[], string[]][] = [
    ['addVoterIds', { addVoterIds: ['d'] }, ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']],
    ['addVoters', { addVoters: { e: n('e') } }, ['a', 'b', 'c', 'e'], ['a', 'b', 'c', 'd', 'e']],
    ['removeVoters', { removeVoters: ['a'] }, ['b', 'c'], ['a', 'b', 'c', 'd']],
    ['replaceAllVoters', { replaceAllVoters: ['b', 'd'] }, ['b', 'd'], ['a', 'b', 'c', 'd']],
    ['addNodes', { addNodes: { e: n('e') } }, ['a', 'b', 'c'], ['a', 'b', 'c', 'd', 'e']],
    ['setNodes', { setNodes: { d: { addr: 'moved' } } }, ['a', 'b', 'c'], ['a', 'b', 'c', 'd']],
    ['removeNodes', { removeNodes: ['d', 'unknown'] }, ['a', 'b', 'c'], ['a', 'b', 'c']],
    [
      'replaceAllNodes',
      { replaceAllNodes: { a: n('a'), b: n('b'), c: n('c') } },
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ],
    [
      'batch, in order',
      { batch: [{ addNodes: { e: n('e') } }, { addVoterIds: ['e'] }, { removeVoters: ['a'] }] },
      ['b', 'c', 'e'],
      ['a', 'b', 'c', 'd', 'e'],
    ],
  ];
  for (const [name, changes, voters, nodes] of cases) {
    it(name, () => {
      const t = changeMembersTarget(base(), changes);
      expect(t.voters).toEqual(voters);
      expect(Object.keys(t.nodes).sort()).toEqual(nodes);
    });
  }

  it('addNodes and addVoters keep an existing node; setNodes replaces it', () => {
    expect(changeMembersTarget(base(), { addNodes: { d: { addr: 'x' } } }).nodes.d).toEqual(n('d'));
    expect(changeMembersTarget(base(), { addVoters: { d: { addr: 'x' } } }).nodes.d).toEqual(n('d'));
    expect(changeMembersTarget(base(), { setNodes: { d: { addr: 'x' } } }).nodes.d).toEqual({ addr: 'x' });
  });

  it('starts from the last config of a joint membership', () => {
    const joint: Membership = {
      configs: [
        ['a', 'b', 'c'],
        ['b', 'c', 'd'],
      ],
      nodes: base().nodes,
    };
    expect(changeMembersTarget(joint, { addVoterIds: [] }).voters).toEqual(['b', 'c', 'd']);
  });
});

describe('planChangeMembers (openraft Membership::change)', () => {
  it('a voter change gives the joint config; its nodes are the target nodes', () => {
    const { next, target } = planChangeMembers(base(), { addVoters: { e: n('e') } });
    expect(next.configs).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c', 'e'],
    ]);
    expect(next.nodes.e).toEqual(n('e'));
    expect(target.voters).toEqual(['a', 'b', 'c', 'e']);
  });

  it('a nodes-only change keeps the config: no joint step', () => {
    const { next } = planChangeMembers(base(), { setNodes: { d: { addr: 'moved' } } });
    expect(next).toEqual({ configs: [['a', 'b', 'c']], nodes: { ...base().nodes, d: { addr: 'moved' } } });
    expect(planChangeMembers(base(), { removeNodes: ['d'] }).next.nodes).not.toHaveProperty('d');
  });

  it('refuses removing the node of a voter (NodeIsVoter), also through replaceAllNodes', () => {
    expect(reasonOf(() => planChangeMembers(base(), { removeNodes: ['a'] }))).toBe('NodeIsVoter');
    expect(reasonOf(() => planChangeMembers(base(), { replaceAllNodes: { a: n('a'), b: n('b') } }))).toBe(
      'NodeIsVoter',
    );
    // Removed from the voters in the same change: it is still a voter of the joint config.
    expect(
      reasonOf(() => planChangeMembers(base(), { batch: [{ removeVoters: ['a'] }, { removeNodes: ['a'] }] })),
    ).toBe('NodeIsVoter');
  });

  it('refuses a voter that is not a member (LearnerNotFound) and an empty voter set (EmptyMembership)', () => {
    expect(reasonOf(() => planChangeMembers(base(), { addVoterIds: ['x'] }))).toBe('LearnerNotFound');
    expect(reasonOf(() => planChangeMembers(base(), { replaceAllVoters: ['a', 'x'] }))).toBe(
      'LearnerNotFound',
    );
    expect(reasonOf(() => planChangeMembers(base(), { removeVoters: ['a', 'b', 'c'] }))).toBe(
      'EmptyMembership',
    );
    expect(reasonOf(() => planChangeMembers(base(), { replaceAllVoters: [] }))).toBe('EmptyMembership');
  });

  it('refuses a node without a string addr (Invalid)', () => {
    const bad = { addNodes: { e: { addr: 1 } } } as unknown as ChangeMembers;
    expect(reasonOf(() => planChangeMembers(base(), bad))).toBe('Invalid');
  });

  it('leaving a joint config: retain keeps removed voters as learners, otherwise they leave', () => {
    const joint: Membership = {
      configs: [
        ['a', 'b', 'c'],
        ['b', 'c'],
      ],
      nodes: base().nodes,
    };
    expect(planChangeMembers(joint, { addVoterIds: [] }).next.nodes).not.toHaveProperty('a');
    expect(planChangeMembers(joint, { addVoterIds: [] }, { retain: true }).next.nodes).toHaveProperty('a');
  });
});

describe('the nodes a change brings', () => {
  const changes: ChangeMembers = {
    batch: [
      { addVoters: { e: n('e') } },
      { setNodes: { d: n('d') } },
      { batch: [{ addVoters: { f: n('f') } }] },
    ],
  };
  it('lists every node, in order, and the addVoters nodes apart', () => {
    expect(nodesOfChangeMembers(changes).map(([id]) => id)).toEqual(['e', 'd', 'f']);
    expect(addVotersOf(changes)).toEqual({ e: n('e'), f: n('f') });
    expect(nodesOfChangeMembers({ removeNodes: ['a'] })).toEqual([]);
  });
});

describe('validateChangeMembers', () => {
  it('accepts every variant', () => {
    for (const c of [
      { addVoterIds: ['a'] },
      { addVoters: { a: { addr: 'x', data: { zone: 1 } } } },
      { removeVoters: [] },
      { replaceAllVoters: ['a'] },
      { addNodes: {} },
      { setNodes: { a: { addr: '' } } },
      { removeNodes: ['a'] },
      { replaceAllNodes: { a: { addr: 'x' } } },
      { batch: [{ batch: [] }] },
    ]) {
      expect(validateChangeMembers(c)).toBe(c);
    }
  });

  const bad: [unknown, string][] = [
    [null, 'changes'],
    [['a'], 'changes'],
    [{}, 'changes'],
    [{ addNodes: {}, removeNodes: [] }, 'changes'],
    [{ AddNodes: {} }, 'changes'],
    [{ addVoterIds: 'a' }, 'changes.addVoterIds'],
    [{ removeNodes: [''] }, 'changes.removeNodes[0]'],
    [{ addNodes: { x: 'x:1' } }, 'changes.addNodes.x'],
    [{ setNodes: { x: { addr: 1 } } }, 'changes.setNodes.x'],
    [{ addVoters: { x: { addr: 'x', data: [] } } }, 'changes.addVoters.x.data'],
    [{ batch: [{ nope: 1 }] }, 'changes.batch[0]'],
    [JSON.parse('{"setNodes":{"__proto__":{"addr":"x"}}}'), 'changes.setNodes.__proto__'],
  ];
  for (const [value, path] of bad) {
    it(`refuses ${JSON.stringify(value)} at ${path}`, () => {
      expect(() => validateChangeMembers(value)).toThrowError(
        expect.objectContaining({ code: 'INVALID_REQUEST', path }),
      );
    });
  }

  it('refuses batches nested too deep', () => {
    let c: unknown = { batch: [] };
    for (let i = 0; i < 9; i++) c = { batch: [c] };
    expect(() => validateChangeMembers(c)).toThrowError(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });
});
