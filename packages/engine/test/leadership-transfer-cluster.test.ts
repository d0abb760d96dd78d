import type { Entry, Membership } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { Driver } from './driver.ts';

// Thesis §3.10 with leases (§6.4), on five nodes: the target needs two votes beyond its own and the
// old leader's, from followers that all heard from the old leader within the lease. Time does not
// advance in the driver, so every lease stays live: the transfer must not depend on it running out.

const ids = ['a', 'b', 'c', 'd', 'e'];
const nodes: Membership['nodes'] = {};
for (const id of ids) nodes[id] = { addr: id };
const log: Entry[] = [
  { logId: { term: 0, index: 0 }, payload: { type: 'membership', membership: { configs: [ids], nodes } } },
];

function cluster(): Driver {
  const vote = { term: 0, nodeId: null, committed: false };
  const d = new Driver(Object.fromEntries(ids.map((id) => [id, { vote, log }])), { leaseMs: 5000 });
  d.elect('a');
  expect(d.node('a').engine.serverState()).toBe('Leader');
  d.node('a').engine.leaderAppend([{ type: 'blank' }], d.now);
  d.run('a');
  d.settle();
  return d;
}

describe('leadership transfer in a cluster with live leases', () => {
  it('an election without a transfer fails while the leases are live', () => {
    const d = cluster();
    d.elect('b');
    expect(d.node('b').engine.serverState()).toBe('Candidate');
    expect(d.node('a').engine.serverState()).toBe('Leader');
  });

  it('a transfer completes at once: the target wins, the old leader follows it', () => {
    const d = cluster();
    const term = d.node('a').engine.vote().term;
    d.node('a').engine.transferLeader('b', d.now);
    d.run('a');
    d.settle();
    expect(d.node('b').engine.serverState()).toBe('Leader');
    expect(d.node('b').engine.vote()).toEqual({ term: term + 1, nodeId: 'b', committed: true });
    for (const id of ['a', 'c', 'd', 'e']) {
      expect(d.node(id).engine.serverState(), id).toBe('Follower');
      expect(d.ids(id), id).toEqual(d.ids('b'));
    }
    expect(d.node('b').engine.committed()).toEqual(d.node('b').engine.lastLogId());
  });
});
