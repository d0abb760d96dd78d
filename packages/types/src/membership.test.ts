import { describe, expect, it } from 'vitest';
import { ErrorCode } from './errors.ts';
import {
  emptyStoredMembership,
  formatMembership,
  getNode,
  isJoint,
  isLearner,
  isMember,
  isQuorum,
  isVoter,
  learnerIds,
  type Membership,
  memberIds,
  membershipEquals,
  nextMembership,
  uniformMembership,
  validateMembership,
  voterIds,
} from './membership.ts';

const nodes = (...ids: string[]) => Object.fromEntries(ids.map((id) => [id, { addr: `${id}:1` }]));

describe('membership queries', () => {
  const joint: Membership = {
    configs: [
      ['a', 'b', 'c'],
      ['c', 'd', 'e'],
    ],
    nodes: nodes('a', 'b', 'c', 'd', 'e', 'l'),
  };
  it('lists voters, learners and members', () => {
    expect(voterIds(joint)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(learnerIds(joint)).toEqual(['l']);
    expect(memberIds(joint)).toEqual(['a', 'b', 'c', 'd', 'e', 'l']);
    expect(isVoter(joint, 'd')).toBe(true);
    expect(isVoter(joint, 'l')).toBe(false);
    expect(isLearner(joint, 'l')).toBe(true);
    expect(isLearner(joint, 'a')).toBe(false);
    expect(isLearner(joint, 'zz')).toBe(false);
    expect(isMember(joint, 'l')).toBe(true);
    expect(isMember(joint, 'zz')).toBe(false);
    expect(getNode(joint, 'a')).toEqual({ addr: 'a:1' });
    expect(getNode(joint, 'toString')).toBeUndefined();
    expect(isJoint(joint)).toBe(true);
    expect(formatMembership(joint)).toBe('{a,b,c}+{c,d,e} L{l}');
  });
  it('requires a majority of every config for a joint quorum (Raft §6)', () => {
    expect(isQuorum(joint, ['a', 'b'])).toBe(false); // old majority only
    expect(isQuorum(joint, ['d', 'e'])).toBe(false); // new majority only
    expect(isQuorum(joint, ['a', 'c', 'd'])).toBe(true);
    expect(isQuorum(joint, ['b', 'c', 'e'])).toBe(true);
    expect(isQuorum(joint, ['l', 'a', 'd'])).toBe(false); // learners never count
    expect(isQuorum(joint, new Set(['a', 'b', 'd', 'e']))).toBe(true);
  });
  it('uses strict majorities for even-sized configs', () => {
    const m = uniformMembership(nodes('a', 'b', 'c', 'd'));
    expect(isQuorum(m, ['a', 'b'])).toBe(false);
    expect(isQuorum(m, ['a', 'b', 'c'])).toBe(true);
  });
  it('has no quorum without configs', () => {
    expect(isQuorum(emptyStoredMembership().membership, ['a'])).toBe(false);
    expect(formatMembership(emptyStoredMembership().membership)).toBe('{}');
  });
  it('builds uniform memberships with learners', () => {
    const m = uniformMembership(nodes('a', 'b', 'c'), ['b', 'a']);
    expect(m.configs).toEqual([['a', 'b']]);
    expect(learnerIds(m)).toEqual(['c']);
  });
});

describe('nextMembership (joint consensus)', () => {
  const m3 = uniformMembership(nodes('a', 'b', 'c'));
  it('goes uniform → joint → uniform and drops removed voters', () => {
    const withD = { ...m3, nodes: { ...m3.nodes, ...nodes('d') } };
    const joint = nextMembership(withD, ['b', 'c', 'd']);
    expect(joint.configs).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c', 'd'],
    ]);
    const uniform = nextMembership(joint, ['b', 'c', 'd']);
    expect(uniform.configs).toEqual([['b', 'c', 'd']]);
    expect(memberIds(uniform)).toEqual(['b', 'c', 'd']);
  });
  it('retains removed voters as learners when asked', () => {
    const joint = nextMembership(m3, ['a']);
    const uniform = nextMembership(joint, ['a'], { retain: true });
    expect(uniform.configs).toEqual([['a']]);
    expect(learnerIds(uniform)).toEqual(['b', 'c']);
  });
  it('keeps learners across changes', () => {
    const m = uniformMembership(nodes('a', 'b', 'c', 'l'), ['a', 'b', 'c']);
    const out = nextMembership(nextMembership(m, ['a', 'b']), ['a', 'b']);
    expect(learnerIds(out)).toEqual(['l']);
  });
  it('re-targets from a joint config whose new half differs', () => {
    const joint = nextMembership(m3, ['a']);
    const again = nextMembership(joint, ['b']);
    expect(again.configs).toEqual([['a'], ['b']]);
  });
  it('refuses empty targets and unknown voters with typed errors', () => {
    expect(() => nextMembership(m3, [])).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidMembership, reason: 'EmptyConfig' }),
    );
    expect(() => nextMembership(m3, ['z'])).toThrow(expect.objectContaining({ reason: 'MissingNode' }));
    const added = nextMembership(m3, ['a', 'z'], { addNodes: nodes('z') });
    expect(added.configs[1]).toEqual(['a', 'z']);
  });
});

describe('validateMembership', () => {
  it('accepts a valid joint membership and compares memberships', () => {
    const m = { configs: [['a'], ['b']], nodes: nodes('a', 'b') };
    expect(validateMembership(m)).toBe(m);
    expect(membershipEquals(m, { configs: [['a'], ['b']], nodes: nodes('b', 'a') })).toBe(true);
    expect(membershipEquals(m, { configs: [['a'], ['a']], nodes: nodes('a', 'b') })).toBe(false);
    expect(membershipEquals(m, { configs: [['a']], nodes: nodes('a', 'b') })).toBe(false);
    expect(membershipEquals(m, { configs: [['a'], ['b']], nodes: nodes('a') })).toBe(false);
  });
  it.each([
    [{ configs: [['a'], ['a'], ['a']], nodes: nodes('a') }, 'TooManyConfigs'],
    [{ configs: [[]], nodes: {} }, 'EmptyConfig'],
    [{ configs: [['a', 'a']], nodes: nodes('a') }, 'DuplicateVoter'],
    [{ configs: [['a', 'b']], nodes: nodes('a') }, 'MissingNode'],
    [{ configs: [['']], nodes: { '': { addr: 'x' } } }, 'InvalidNodeId'],
    [{ configs: [['a']], nodes: { a: { addr: 1 } } }, 'InvalidNode'],
  ])('refuses %j with reason %s', (m, reason) => {
    expect(() => validateMembership(m as unknown as Membership)).toThrow(expect.objectContaining({ reason }));
  });
});
