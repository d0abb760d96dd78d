import type { Entry, Membership, Vote } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { Driver } from './driver.ts';

// Raft §6 / thesis §4.3: once the joint configuration is committed, the leader appends the new
// configuration. When the leader that started the change is gone, the next leader must finish it:
// otherwise the cluster stays in the joint configuration for ever, needing majorities of both.

const node = (id: string) => ({ addr: id });
const nodes = { a: node('a'), b: node('b'), c: node('c'), d: node('d'), e: node('e') };
const m3: Membership = { configs: [['a', 'b', 'c']], nodes };
const joint: Membership = {
  configs: [
    ['a', 'b', 'c'],
    ['c', 'd', 'e'],
  ],
  nodes,
};
const log: Entry[] = [
  { logId: { term: 0, index: 0 }, payload: { type: 'membership', membership: m3 } },
  { logId: { term: 1, index: 1 }, payload: { type: 'membership', membership: joint } },
];
const configs = (d: Driver, id: string) =>
  d
    .node(id)
    .log.filter((e) => e.payload.type === 'membership')
    .map((e) => (e.payload as { membership: Membership }).membership.configs);

/** Nodes a to e, each with the log `log` under vote `vote`. */
const fiveNodes = (vote: Vote) =>
  new Driver({
    a: { vote, log },
    b: { vote, log },
    c: { vote, log },
    d: { vote, log },
    e: { vote, log },
  });

describe('a membership change across a leader change', () => {
  it('a new leader elected in the joint configuration commits it, then appends and commits the new one', () => {
    const vote = { term: 1, nodeId: 'a', committed: true };
    const d = fiveNodes(vote);
    d.down.add('a'); // the leader that started the change crashed
    d.elect('c');
    d.settle();
    const c = d.node('c').engine;
    expect(c.serverState()).toBe('Leader');
    expect(configs(d, 'c')).toEqual([[['a', 'b', 'c']], joint.configs, [['c', 'd', 'e']]]);
    expect(c.membershipChangeInProgress()).toBe(false);
    expect(c.committed()).toEqual(c.lastLogId());
    // The uniform configuration keeps the nodes of the removed voters out (the API's default).
    expect(Object.keys(c.membership().effective.membership.nodes).sort()).toEqual(['c', 'd', 'e']);
    for (const id of ['b', 'd', 'e']) expect(d.ids(id), id).toEqual(d.ids('c'));
    expect(d.node('b').engine.serverState()).toBe('Learner');
  });

  it('a new leader that the new configuration removes finishes the change, then steps down', () => {
    const vote = { term: 1, nodeId: 'c', committed: true };
    const d = fiveNodes(vote);
    d.down.add('c');
    d.elect('a'); // a voter of the old half only, elected by a, b (old half) and d, e (new half)
    d.settle();
    expect(configs(d, 'd')).toEqual([[['a', 'b', 'c']], joint.configs, [['c', 'd', 'e']]]);
    expect(d.node('a').engine.serverState()).toBe('Learner');
  });
});
