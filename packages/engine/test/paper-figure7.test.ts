import type { Entry, Membership, Vote } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { Driver } from './driver.ts';

const ids = ['L', 'a', 'b', 'c', 'd', 'e', 'f'];
const membership: Membership = {
  configs: [ids],
  nodes: Object.fromEntries(ids.map((id) => [id, { addr: id }])),
};
/** A log from the terms of entries 1.. (Figure 7 numbering; index 0 holds the membership). */
const log = (terms: number[]): Entry[] => [
  { logId: { term: 0, index: 0 }, payload: { type: 'membership', membership } },
  ...terms.map((term, i) => ({ logId: { term, index: i + 1 }, payload: { type: 'blank' as const } })),
];
const voted = (term: number, nodeId: string): Vote => ({ term, nodeId, committed: true });

describe('Raft §5.3, Figure 7: the new leader repairs every follower log', () => {
  it('elects L at term 8 and makes every log equal to its own', () => {
    const d = new Driver({
      L: { vote: voted(7, 'd'), log: log([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]) },
      a: { vote: voted(6, 'c'), log: log([1, 1, 1, 4, 4, 5, 5, 6, 6]) },
      b: { vote: voted(4, 'x'), log: log([1, 1, 1, 4]) },
      c: { vote: voted(6, 'c'), log: log([1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]) },
      d: { vote: voted(7, 'd'), log: log([1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]) },
      e: { vote: voted(4, 'x'), log: log([1, 1, 1, 4, 4, 4, 4]) },
      f: { vote: voted(3, 'f'), log: log([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]) },
    });
    d.elect('L');
    // §5.4.1: c and d have more up-to-date logs and refuse; a, b, e and f make a majority with L.
    expect(d.node('L').engine.serverState()).toBe('Leader');
    expect(d.node('L').engine.vote()).toEqual({ term: 8, nodeId: 'L', committed: true });
    const want = ['0-0', '1-1', '1-2', '1-3', '4-4', '4-5', '5-6', '5-7', '6-8', '6-9', '6-10', '8-11'];
    for (const id of ids) expect(d.ids(id), id).toEqual(want);
    expect(d.node('L').engine.committed()).toEqual({ term: 8, index: 11 });
    for (const id of ids) d.node(id).engine.checkInvariants();
  });
});
