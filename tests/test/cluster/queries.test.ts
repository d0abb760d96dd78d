// The query methods of the public API (openraft's is_initialized, current_leader, voter_ids,
// learner_ids, get_snapshot, and isLeader) on a 2-voter cluster with a learner.
import { MemoryRouter } from '@flotilla/memory';
import type { Raft } from '@flotilla/raft';
import { collectSnapshotData } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { counterNode } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

describe('queries', () => {
  it('isInitialized, isLeader, currentLeader, voterIds, learnerIds, getSnapshot', async () => {
    const router = new MemoryRouter();
    const [a, b, c] = [
      await counterNode(router, 'a', nodes),
      await counterNode(router, 'b', nodes),
      await counterNode(router, 'c', nodes),
    ];
    for (const n of [a, b, c]) {
      expect(n.isInitialized()).toBe(false);
      expect(n.isLeader()).toBe(false);
      expect(n.currentLeader()).toBeNull();
      expect([n.voterIds(), n.learnerIds()]).toEqual([[], []]);
    }
    expect(await a.getSnapshot()).toBeNull();

    await a.initialize({ a: { addr: 'a' }, b: { addr: 'b' } });
    expect(a.isInitialized()).toBe(true);
    const { currentLeader } = await a.wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader !== null);
    const leader = currentLeader === 'a' ? a : b;
    const follower = leader === a ? b : a;
    await leader.wait({ timeoutMs: 10_000 }).state('Leader');
    expect([leader.isLeader(), follower.isLeader()]).toEqual([true, false]);
    // the initial membership commits with the leader's first entry; until then a change is refused
    await leader.wait({ timeoutMs: 10_000 }).until((m) => (m.lastApplied?.index ?? -1) >= 1);
    await leader.addLearner('c', { addr: 'c' }, { blocking: true, timeoutMs: 10_000 });
    await leader.clientWrite(5);
    for (const n of [a, b, c]) {
      await n
        .wait({ timeoutMs: 10_000 })
        .until((m) => m.currentLeader === leader.id && m.lastApplied !== null && m.lastApplied.index >= 3);
      expect(n.isInitialized()).toBe(true);
      expect(n.currentLeader()).toBe(leader.id);
      expect(n.voterIds()).toEqual(['a', 'b']);
      expect(n.learnerIds()).toEqual(['c']);
    }
    expect(c.isLeader()).toBe(false);

    const built = await leader.trigger.snapshot();
    const snap = await leader.getSnapshot();
    expect(snap?.meta.lastLogId).toEqual(built);
    expect((await collectSnapshotData(snap!.data)).byteLength).toBeGreaterThan(0);
  });
});
