import { describe, expect, it } from 'vitest';
import { InflightIdGen, logIdProgress, majorityQuorum, ProgressEntry } from './index.ts';

describe('the package example', () => {
  it('runs as documented', () => {
    const ids = new InflightIdGen();
    const log = {
      purged: () => null,
      last: () => ({ term: 1, index: 9 }),
      logIdAt: (i: number) => ({ term: 1, index: i }),
    };
    const p = ProgressEntry.forNewLeader(log.last());
    const send = p.nextSend(log, 64, ids);
    expect(send).toEqual({ type: 'logs', id: 1, prev: { term: 1, index: 4 }, last: { term: 1, index: 9 } });
    if (send?.type === 'logs') p.updateMatching(send.last, send.id);
    expect(p.nextSend(log, 64, ids)).toEqual({ type: 'logsSince', id: 2, prev: { term: 1, index: 9 } });

    const commit = logIdProgress(majorityQuorum(['a', 'b', 'c']));
    commit.update('a', { term: 1, index: 9 });
    expect(commit.update('b', { term: 1, index: 7 })).toBe(true);
    expect(commit.quorumAccepted()).toEqual({ term: 1, index: 7 });
  });
});
