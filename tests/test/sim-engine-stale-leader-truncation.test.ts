import { Engine } from '@flotilla/engine';
import { describe, expect, it } from 'vitest';
import { Checker } from '../src/sim/engine/checker.ts';
import { applyWrite, emptyStore } from '../src/sim/engine/disk.ts';
import { runEngineSeed } from '../src/sim/engine/run.ts';

describe('a stale leader may overwrite, on a follower of its term, an entry committed at a later term', () => {
  // Seed 8,809,443 (issue 13): the joint config {n1,n4,n6} → {n1,n2,n4,n5,n6} is pending; n5 wins
  // term 11 and is cut off with n1; n2 wins term 12 with the majority and commits 12-15, hence 6-14;
  // n1, still n5's term-11 follower, then takes n5's 11-14 and truncates 6-14, which it never knew
  // committed and which stays on the term-12 majority. Raft allows it (Leader Completeness binds the
  // leaders of term 12 and later only); the checker once reported it as a lost committed entry.
  it('seed 8809443 passes, and still exercises exactly that truncation', () => {
    const r = runEngineSeed({ engine: Engine, seed: 8_809_443, steps: 3000 });
    expect(r.violation).toBeNull();
    expect(r.linearizability).toBe('ok');
    expect(r.staleLeaderTruncations).toContain('6-14 on n1 by term 11 (committed at term 12)');
  });
});

describe('the checker: no truncation of an entry committed at the truncating leader term or before', () => {
  const entry = (term: number, index: number) => ({
    logId: { term, index },
    payload: { type: 'blank' as const },
  });
  const setup = () => {
    const checker = new Checker();
    const committedLog = emptyStore();
    applyWrite(committedLog, {
      type: 'append',
      entries: [entry(0, 0), entry(1, 1), entry(6, 2), entry(12, 3)],
    });
    checker.committedOn('n2', 12, committedLog, { term: 12, index: 3 }); // 6-2 committed at term 12
    const follower = emptyStore();
    applyWrite(follower, { type: 'append', entries: [entry(0, 0), entry(1, 1), entry(6, 2)] });
    return { checker, follower };
  };

  it('flags it when the truncating leader is of the commit term or later', () => {
    const { checker, follower } = setup();
    expect(() => checker.truncating('n1', follower, 2, 12)).toThrow(
      'committed entry 6-2 truncated on n1 by the leader of term 12 (committed at term 12)',
    );
    expect(() => checker.truncating('n1', follower, 2, 13)).toThrow(/committed entry 6-2 truncated/);
  });

  it('allows (and records) it for a stale leader of an earlier term', () => {
    const { checker, follower } = setup();
    checker.truncating('n1', follower, 2, 11);
    expect(checker.staleLeaderTruncations).toEqual(['6-2 on n1 by term 11 (committed at term 12)']);
  });
});
