// Per-kind metrics subscriptions through the public API (openraft's watch_*_progress and
// on_cluster_leader_change): a follower hears each applied log id once, in order, and every node
// hears the leader appear.
import { MemoryRouter } from '@flotilla/memory';
import type { LeaderChange, Raft } from '@flotilla/raft';
import type { LogId } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { counterNode } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

describe('metrics.watch and metrics.onLeaderChange', () => {
  it('report applied progress and leader changes without whole-metrics diffs', async () => {
    const router = new MemoryRouter();
    const [a, b] = [await counterNode(router, 'a', nodes), await counterNode(router, 'b', nodes)];
    const changes: LeaderChange[] = [];
    const offLeader = b.metrics.onLeaderChange((c) => changes.push(c));
    const applied: [LogId | null, LogId | null][] = [];
    const offApplied = b.metrics.watch('applied', (v, prev) => applied.push([v, prev]));
    const states = new Map<string, string[]>([
      ['a', []],
      ['b', []],
    ]);
    for (const n of [a, b]) n.metrics.watch('state', (s) => states.get(n.id)!.push(s));

    await a.initialize({ a: { addr: 'a' }, b: { addr: 'b' } });
    const { currentLeader } = await b.wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader !== null);
    const leader = currentLeader === 'a' ? a : b;
    for (let i = 0; i < 5; i++) await leader.clientWrite(1);
    const last = (await leader.wait({ timeoutMs: 10_000 }).appliedIndex(6)).lastApplied!;
    await b.wait({ timeoutMs: 10_000 }).appliedIndex(last.index);
    offApplied();
    offLeader();
    await leader.clientWrite(1);
    await b.wait({ timeoutMs: 10_000 }).appliedIndex(last.index + 1);

    // every value heard once, each `previous` the value before it, none after unsubscribing
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.at(-1)![0]).toEqual(last);
    expect(applied[0]![1]).toBeNull();
    for (let i = 1; i < applied.length; i++) {
      expect(applied[i]![1]).toEqual(applied[i - 1]![0]);
      expect(applied[i]![0]!.index).toBeGreaterThan(applied[i - 1]![0]!.index);
    }
    expect(changes[0]).toMatchObject({ previous: null, leader: leader.id });
    expect(changes.at(-1)!.leader).toBe(leader.id);
    expect(states.get(leader.id)!.at(-1)).toBe('Leader');
    expect(states.get(leader.id)!.filter((s) => s === 'Leader')).toHaveLength(1);
  });
});
