import { uniformMembership } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { jointQuorum, majorityQuorum, quorumOfMembership } from './quorum.ts';

describe('quorum sets', () => {
  it('majority: strictly more than half', () => {
    const q = majorityQuorum(['a', 'b', 'c', 'd']);
    expect(q.isQuorum(['a', 'b'])).toBe(false);
    expect(q.isQuorum(['a', 'b', 'c'])).toBe(true);
    expect(q.isQuorum(['a', 'b', 'x', 'y', 'a'])).toBe(false); // unknown ids and duplicates do not count
    expect(q.ids()).toEqual(['a', 'b', 'c', 'd']);
    expect(majorityQuorum(['a']).isQuorum(['a'])).toBe(true);
    expect(majorityQuorum(['a']).isQuorum([])).toBe(false);
  });

  it('joint: a majority of both configs', () => {
    const q = jointQuorum([
      ['a', 'b', 'c'],
      ['c', 'd', 'e'],
    ]);
    expect(q.isQuorum(['a', 'b', 'd'])).toBe(false);
    expect(q.isQuorum(['a', 'c'])).toBe(false);
    expect(q.isQuorum(['a', 'c', 'd'])).toBe(true);
    expect(q.isQuorum(['a', 'b', 'd', 'e'])).toBe(true);
    expect(q.ids()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(jointQuorum([['a', 'b', 'c']]).isQuorum(['a', 'b'])).toBe(true);
  });

  it('no config: nothing is a quorum', () => {
    const q = jointQuorum([]);
    expect(q.isQuorum(['a'])).toBe(false);
    expect(q.ids()).toEqual([]);
  });

  it('rejects empty and repeating configs with typed errors', () => {
    expect(() => majorityQuorum([])).toThrow(
      expect.objectContaining({ code: 'INVALID_MEMBERSHIP', reason: 'EmptyConfig' }),
    );
    expect(() => jointQuorum([['a'], ['b', 'b']])).toThrow(
      expect.objectContaining({ reason: 'DuplicateVoter' }),
    );
  });

  it('of a membership: learners never count', () => {
    const m = uniformMembership({ a: { addr: 'a' }, b: { addr: 'b' }, c: { addr: 'c' } }, ['a', 'b']);
    const q = quorumOfMembership(m);
    expect(q.ids()).toEqual(['a', 'b']);
    expect(q.isQuorum(['a', 'c'])).toBe(false);
    expect(q.isQuorum(['a', 'b'])).toBe(true);
  });
});
