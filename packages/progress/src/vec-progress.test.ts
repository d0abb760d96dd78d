import { describe, expect, it } from 'vitest';
import type { QuorumSet } from './quorum.ts';
import { jointQuorum, majorityQuorum } from './quorum.ts';
import { logIdProgress, timestampProgress, VecProgress } from './vec-progress.ts';

const lid = (term: number, index: number) => ({ term, index });

describe('VecProgress', () => {
  it('tracks the majority-accepted log id and reports changes', () => {
    const p = logIdProgress(majorityQuorum(['a', 'b', 'c']), ['l']);
    expect(p.quorumAccepted()).toBeNull();
    expect(p.update('a', lid(1, 5))).toBe(false);
    expect(p.update('b', lid(1, 3))).toBe(true);
    expect(p.quorumAccepted()).toEqual(lid(1, 3));
    expect(p.update('c', lid(1, 9))).toBe(true);
    expect(p.quorumAccepted()).toEqual(lid(1, 5));
    // Learners are tracked but never count.
    expect(p.update('l', lid(1, 20))).toBe(false);
    expect(p.get('l')).toEqual(lid(1, 20));
    expect(p.quorumAccepted()).toEqual(lid(1, 5));
  });

  it('ignores values that do not grow', () => {
    const p = logIdProgress(majorityQuorum(['a', 'b', 'c']));
    p.update('a', lid(2, 5));
    expect(p.update('a', lid(1, 9))).toBe(false);
    expect(p.get('a')).toEqual(lid(2, 5));
  });

  it('joint: the least of both majorities', () => {
    const p = timestampProgress(
      jointQuorum([
        ['a', 'b', 'c'],
        ['c', 'd', 'e'],
      ]),
    );
    expect(p.quorumAccepted()).toBe(Number.NEGATIVE_INFINITY);
    p.update('a', 10);
    p.update('b', 20);
    expect(p.quorumAccepted()).toBe(Number.NEGATIVE_INFINITY); // new config has no majority yet
    p.update('d', 30);
    p.update('e', 5);
    expect(p.quorumAccepted()).toBe(5);
    p.update('c', 40);
    expect(p.quorumAccepted()).toBe(20);
  });

  it('upgradeQuorumSet keeps known values, adds new ids at initial, drops removed ones', () => {
    const p = timestampProgress(majorityQuorum(['a', 'b', 'c']));
    p.update('a', 10);
    p.update('b', 20);
    p.update('c', 30);
    expect(p.quorumAccepted()).toBe(20);
    p.upgradeQuorumSet(majorityQuorum(['b', 'c', 'd']), ['a']);
    expect(p.entries()).toEqual([
      ['b', 20],
      ['c', 30],
      ['d', Number.NEGATIVE_INFINITY],
      ['a', 10],
    ]);
    expect(p.quorumAccepted()).toBe(20);
    p.upgradeQuorumSet(majorityQuorum(['d', 'e', 'f']));
    expect(p.get('a')).toBeUndefined();
    expect(p.quorumAccepted()).toBe(Number.NEGATIVE_INFINITY);
  });

  it('refuses an unknown id', () => {
    const p = timestampProgress(majorityQuorum(['a']));
    expect(() => p.update('z', 1)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });

  it('works with a custom quorum set (no majorityConfigs) by sorting', () => {
    // "Any two of a, b, c, or d alone."
    const q: QuorumSet = {
      ids: () => ['a', 'b', 'c', 'd'],
      isQuorum: (ids) => {
        const s = new Set(ids);
        return s.has('d') || ['a', 'b', 'c'].filter((x) => s.has(x)).length >= 2;
      },
    };
    const p = new VecProgress<number>(q, { compare: (a, b) => a - b, initial: 0 });
    p.update('a', 5);
    expect(p.quorumAccepted()).toBe(0);
    p.update('b', 3);
    expect(p.quorumAccepted()).toBe(3);
    expect(p.update('d', 9)).toBe(true);
    expect(p.quorumAccepted()).toBe(9);
  });
});
