import { describe, expect, it } from 'vitest';
import {
  compareVote,
  formatVote,
  initialVote,
  leaderOf,
  type Vote,
  voteEquals,
  voteGe,
  voteGt,
} from './vote.ts';

const v = (term: number, nodeId: string | null, committed = false): Vote => ({ term, nodeId, committed });

describe('Vote partial order', () => {
  it('orders by term first', () => {
    expect(compareVote(v(1, 'a', true), v(2, 'b'))).toBe(-1);
    expect(compareVote(v(3, null), v(2, 'b', true))).toBe(1);
  });
  it('ranks a committed vote above an uncommitted one of the same term', () => {
    expect(compareVote(v(2, 'a', true), v(2, 'a'))).toBe(1);
    expect(compareVote(v(2, 'b'), v(2, 'a', true))).toBe(-1);
  });
  it('ranks a vote for somebody above a vote for nobody', () => {
    expect(compareVote(v(2, 'a'), v(2, null))).toBe(1);
    expect(compareVote(v(2, null), v(2, 'a'))).toBe(-1);
    expect(compareVote(v(2, null), v(2, null))).toBe(0);
  });
  it('makes two uncommitted votes for different nodes in one term incomparable', () => {
    expect(compareVote(v(2, 'a'), v(2, 'b'))).toBe(null);
    expect(voteGe(v(2, 'a'), v(2, 'b'))).toBe(false);
    expect(voteGe(v(2, 'b'), v(2, 'a'))).toBe(false);
    expect(voteGt(v(2, 'a'), v(2, 'b'))).toBe(false);
  });
  it('has ge/gt/equals consistent with compare', () => {
    expect(voteGe(v(2, 'a'), v(2, 'a'))).toBe(true);
    expect(voteGt(v(2, 'a'), v(2, 'a'))).toBe(false);
    expect(voteEquals(v(2, 'a', true), v(2, 'a', true))).toBe(true);
    expect(voteEquals(v(2, 'a', true), v(2, 'a'))).toBe(false);
    expect(voteGt(v(2, 'a', true), v(2, 'a'))).toBe(true);
  });
  it('is antisymmetric and transitive over a sample of votes', () => {
    const votes: Vote[] = [];
    for (const term of [0, 1, 2])
      for (const id of [null, 'a', 'b'])
        for (const c of [false, true]) {
          if (c && id === null) continue;
          votes.push(v(term, id, c));
        }
    for (const a of votes)
      for (const b of votes) {
        const ab = compareVote(a, b);
        const ba = compareVote(b, a);
        expect(ab === null ? ba === null : ba === -ab || (ab === 0 && ba === 0)).toBe(true);
        for (const c of votes) {
          if (voteGe(a, b) && voteGe(b, c)) expect(voteGe(a, c)).toBe(true);
        }
      }
  });
  it('names the leader only of a committed vote', () => {
    expect(leaderOf(v(3, 'a', true))).toBe('a');
    expect(leaderOf(v(3, 'a'))).toBe(null);
    expect(initialVote()).toEqual(v(0, null));
    expect(formatVote(v(3, 'a', true))).toBe('3-a:c');
    expect(formatVote(v(0, null))).toBe('0-∅:u');
  });
});
