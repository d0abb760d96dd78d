import { ErrorCode, isLearner, voterIds } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { kv, TestCluster, WAIT } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

/** Starts `ids` (all empty), initializes `from` as voters, and adds the rest as learners. */
async function setup(ids: string[], from: string[]): Promise<TestCluster> {
  const cl = await TestCluster.create(ids, { voters: from });
  const l = cl.raft(await cl.leader(from));
  for (const id of ids.filter((x) => !from.includes(x))) await l.addLearner(id, { addr: id });
  return cl;
}

describe('membership', () => {
  it('a blocking addLearner (lag threshold 0) resolves once the learner caught up; a non-blocking one at once', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { voters: ['a'], config: { replicationLagThreshold: 0 } });
    const l = c.raft('a');
    const w = await l.clientWriteMany([1, 2, 3].map((v) => ({ key: 'k', value: v })));
    const added = await l.addLearner('b', { addr: 'b' }, { blocking: true });
    expect(l.metrics.current.replication?.b?.matching?.index).toBeGreaterThanOrEqual(added.logId.index);
    expect(isLearner(l.metrics.current.membership.membership, 'b')).toBe(true);
    const nb = await l.addLearner('c', { addr: 'c' }, { blocking: false });
    await c.raft('c').wait(WAIT).appliedIndex(nb.logId.index);
    expect(kv(c.node('c'))).toEqual({ k: 3 });
    expect(w).toHaveLength(3);
  });

  it('addLearner on an existing member changes nothing and says so (added: false), as openraft does', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { voters: ['a', 'b'] });
    const l = c.raft(await c.leader(['a', 'b']));
    const first = await l.addLearner('c', { addr: 'c' });
    expect(first.added).toBe(true);
    const before = l.metrics.current.membership;
    const lastIndex = l.metrics.current.lastLogIndex;
    for (const [id, addr] of [
      ['c', 'c'],
      ['c', 'elsewhere'],
      ['a', 'a'],
      ['b', 'b'],
    ] as const) {
      const again = await l.addLearner(id, { addr });
      expect(again).toMatchObject({ added: false, logId: before.logId });
    }
    expect(l.metrics.current.membership).toEqual(before); // not even the address changed
    expect(l.metrics.current.lastLogIndex).toBe(lastIndex); // nothing appended
  });

  const table: [string, string[], string[], string[]][] = [
    ['{a} → {a,b,c}', ['a', 'b', 'c'], ['a'], ['a', 'b', 'c']],
    ['{a,b} → {c}', ['a', 'b', 'c'], ['a', 'b'], ['c']],
    ['{a,b,c} → {d,e,f}', ['a', 'b', 'c', 'd', 'e', 'f'], ['a', 'b', 'c'], ['d', 'e', 'f']],
  ];
  for (const [name, ids, from, to] of table) {
    it(`changeMembership ${name} goes through joint consensus and the new voters commit writes`, async () => {
      c = await setup(ids, from);
      const l = c.raft(await c.leader(from));
      const res = await l.changeMembership(to);
      const m = l.metrics.current.membership;
      expect(m.membership.configs).toHaveLength(1);
      expect(voterIds(m.membership).sort()).toEqual([...to].sort());
      expect(res.logId).toEqual(m.logId);
      const leader = await c.leader(to);
      const w = await c.raft(leader).clientWrite({ key: 'after', value: 1 });
      await c.applied(w.logId.index, to);
    });
  }

  it('a new leader elected in the joint config proposes and commits the uniform config the old one never sent', async () => {
    c = await setup(['a', 'b', 'c', 'd'], ['a', 'b', 'c']);
    const old = await c.leader(['a', 'b', 'c']);
    const oldTerm = c.raft(old).metrics.current.currentTerm;
    // The old leader's uniform config entry never leaves it; once it tried to send it, it crashes.
    let crashed: Promise<unknown> | null = null;
    const holdsUniform = (req: unknown): boolean =>
      (
        (req as { entries?: { payload: { type: string; membership?: { configs: unknown[] } } }[] }).entries ??
        []
      ).some((e) => e.payload.type === 'membership' && e.payload.membership?.configs.length === 1);
    for (const kind of ['appendEntries', 'streamAppend'] as const) {
      c.router.before(kind, (ctx) => {
        if (ctx.from !== old || !holdsUniform(ctx.request)) return;
        crashed ??= c!.crash(old);
        throw new Error('the uniform config is held back');
      });
    }
    const change = c
      .raft(old)
      .changeMembership(['a', 'b', 'c', 'd'])
      .catch((e: unknown) => e);
    const rest = ['a', 'b', 'c', 'd'].filter((id) => id !== old);
    const next = await c.leader(rest);
    const m = await c
      .raft(next)
      .wait(WAIT)
      .until(
        (x) =>
          x.membership.membership.configs.length === 1 &&
          x.committed !== null &&
          x.membership.logId !== null &&
          x.committed.index >= x.membership.logId.index,
        'the uniform config committed',
      );
    expect(voterIds(m.membership.membership).sort()).toEqual(['a', 'b', 'c', 'd']);
    // Proposed by the new leader, in its own term: none of the old leader's uniform entries got out.
    expect(m.membership.logId?.term).toBe(m.currentTerm);
    expect(m.currentTerm).toBeGreaterThan(oldTerm);
    expect(crashed).not.toBeNull();
    await crashed;
    expect(await change).toBeInstanceOf(Error);
    const w = await c.raft(next).clientWrite({ key: 'x', value: 1 });
    await c.applied(w.logId.index, rest);
  });

  it('removing the leader makes it step down once the change commits; the rest elect a new leader', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const old = await c.leader();
    const rest = ['a', 'b', 'c'].filter((id) => id !== old);
    await c
      .raft(old)
      .changeMembership(rest)
      .catch(() => null); // may resolve or forward once it stepped down
    const next = await c.leader(rest);
    expect(rest).toContain(next);
    await c.raft(next).wait(WAIT).members(rest);
    const w = await c.raft(next).clientWrite({ key: 'x', value: 1 });
    await c.applied(w.logId.index, rest);
  });

  it('retain keeps removed voters as learners that still receive the log', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = await c.leader();
    const removed = ['a', 'b', 'c'].find((id) => id !== l) as string;
    const keep = ['a', 'b', 'c'].filter((id) => id !== removed);
    await c.raft(l).changeMembership(keep, { retain: true });
    expect(isLearner(c.raft(l).metrics.current.membership.membership, removed)).toBe(true);
    const w = await c.raft(l).clientWrite({ key: 'x', value: 7 });
    await c.raft(removed).wait(WAIT).appliedIndex(w.logId.index);
    expect(kv(c.node(removed))).toEqual({ x: 7 });
  });

  it('an unreachable follower can be removed by the remaining majority', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = await c.leader();
    const gone = ['a', 'b', 'c'].find((id) => id !== l) as string;
    c.router.setUnreachable(gone);
    const keep = ['a', 'b', 'c'].filter((id) => id !== gone);
    await c.raft(l).changeMembership(keep);
    expect(voterIds(c.raft(l).metrics.current.membership.membership).sort()).toEqual(keep.sort());
  });

  it('a second change while one is in progress fails with InProgress; writes go on meanwhile', async () => {
    c = await setup(['a', 'b', 'c', 'd'], ['a', 'b', 'c']);
    const l = c.raft(await c.leader(['a', 'b', 'c']));
    const writes = Array.from({ length: 50 }, (_, i) => l.clientWrite({ key: `k${i}`, value: i }));
    const first = l.changeMembership(['a', 'b', 'c', 'd']);
    const second = await l.changeMembership(['a', 'b']).catch((e: unknown) => e);
    await first;
    const res = await Promise.all(writes);
    expect(second).toMatchObject({ code: ErrorCode.ChangeMembership, reason: 'InProgress' });
    await c.applied(Math.max(...res.map((r) => r.logId.index)));
    for (const n of c.nodes.values()) expect(Object.keys(kv(n))).toHaveLength(50);
  });

  it('a hung follower never blocks the leader loop: writes and membership changes go on', async () => {
    c = await TestCluster.create(['a', 'b', 'c', 'd'], { voters: ['a', 'b', 'c'] });
    const l = await c.leader(['a', 'b', 'c']);
    const hung = ['a', 'b', 'c'].find((id) => id !== l) as string;
    // Every RPC to the hung follower stalls (never answered).
    c.router.before('appendEntries', (ctx) => (ctx.to === hung ? new Promise(() => {}) : undefined));
    c.router.before('streamAppend', (ctx) => (ctx.to === hung ? new Promise(() => {}) : undefined));
    for (let i = 0; i < 20; i++) await c.raft(l).clientWrite({ key: 'k', value: i });
    await c.raft(l).addLearner('d', { addr: 'd' });
    await c.raft(l).changeMembership(['a', 'b', 'c', 'd'].filter((id) => id !== hung));
    expect(voterIds(c.raft(l).metrics.current.membership.membership)).not.toContain(hung);
    expect(c.raft(l).metrics.current.state).toBe('Leader');
  });
});
