import type { Entry, Membership } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { Driver } from './driver.ts';

const node = (id: string) => ({ addr: id });
const m3: Membership = { configs: [['a', 'b', 'c']], nodes: { a: node('a'), b: node('b'), c: node('c') } };
const start: Entry[] = [{ logId: { term: 0, index: 0 }, payload: { type: 'membership', membership: m3 } }];
const fresh = { vote: { term: 0, nodeId: null, committed: false }, log: [] as Entry[] };
const memberships = (d: Driver, id: string) =>
  d
    .node(id)
    .log.filter((e) => e.payload.type === 'membership')
    .map((e) => (e.payload as { membership: Membership }).membership.configs);

function cluster(): Driver {
  const v = { term: 0, nodeId: null, committed: false };
  const d = new Driver({
    a: { vote: v, log: start },
    b: { vote: v, log: start },
    c: { vote: v, log: start },
    d: fresh,
    e: fresh,
  });
  d.elect('a');
  expect(d.node('a').engine.serverState()).toBe('Leader');
  return d;
}

describe('Raft §6: membership changes through joint consensus', () => {
  it('goes {a,b,c} -> {a,b,c}+{c,d,e} -> {c,d,e}; the removed leader steps down once it commits', () => {
    const d = cluster();
    d.node('a').engine.changeMembership(['c', 'd', 'e'], { addNodes: { d: node('d'), e: node('e') } }, d.now);
    d.run('a');
    d.settle();
    expect(memberships(d, 'c')).toEqual([
      [['a', 'b', 'c']],
      [
        ['a', 'b', 'c'],
        ['c', 'd', 'e'],
      ],
      [['c', 'd', 'e']],
    ]);
    for (const id of ['c', 'd', 'e']) expect(d.ids(id), id).toEqual(d.ids('a'));
    // a was removed (not retained): once C-new committed it is no longer a member, hence no leader.
    expect(d.node('a').engine.serverState()).toBe('Learner');
    expect(d.node('a').engine.committed()).toEqual(d.node('a').engine.lastLogId());
  });

  it('commits the joint entry only with a majority of both configs', () => {
    const d = cluster();
    d.down.add('d');
    d.down.add('e');
    d.node('a').engine.changeMembership(['c', 'd', 'e'], { addNodes: { d: node('d'), e: node('e') } }, d.now);
    d.run('a');
    d.settle();
    const joint = d.node('a').engine.membership().effective.logId;
    // a, b, c hold the joint entry: a majority of the old config but only one of {c, d, e}.
    expect(d.ids('b')).toEqual(d.ids('a'));
    expect(d.node('a').engine.membershipChangeInProgress()).toBe(true);
    expect(d.node('a').engine.committed()).not.toEqual(joint);
    d.down.delete('d');
    d.settle();
    // d joins: {c, d} is a majority of the new config; the joint entry commits and C-new follows.
    expect(memberships(d, 'd').at(-1)).toEqual([['c', 'd', 'e']]);
    expect(d.node('a').engine.committed()).toEqual(d.node('a').engine.lastLogId());
  });

  it('a truncated membership entry gives way to the previous membership', () => {
    const d = cluster();
    const a = d.node('a').engine;
    d.down.add('b');
    d.down.add('c');
    a.changeMembership(['a', 'b'], {}, d.now);
    d.run('a');
    expect(a.membership().effective.membership.configs).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b'],
    ]);
    // b wins a new term without the joint entry (it never got it); a's joint entry is truncated.
    d.down.clear();
    d.down.add('a');
    d.now += 100; // past the lease of leader a
    d.elect('b');
    expect(d.node('b').engine.serverState()).toBe('Leader');
    d.down.clear();
    d.node('b').engine.heartbeat(d.now);
    d.run('b');
    d.settle();
    expect(a.membership().effective.membership.configs).toEqual([['a', 'b', 'c']]);
    expect(d.ids('a')).toEqual(d.ids('b'));
  });
});
