import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('linearizable reads (read index)', () => {
  it('concurrent reads share heartbeat rounds and are confirmed by their acknowledgements', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const leader = await c.leader();
    const l = c.raft(leader);
    const w = await l.clientWrite({ key: 'x', value: 1 });
    // No periodic heartbeats: every heartbeat now is one a read asked for.
    l.runtimeConfig.heartbeat(false);
    const before = c.router.count('appendEntries', { from: leader });
    const reads = await Promise.all(Array.from({ length: 200 }, () => l.ensureLinearizable()));
    const sent = c.router.count('appendEntries', { from: leader }) - before;
    for (const r of reads) expect(r?.index).toBeGreaterThanOrEqual(w.logId.index);
    // One round per follower for the reads that started before it, at most one more for the rest
    // (one heartbeat round per read would be 400).
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(4);
  });

  it('a read is woken by the acknowledgements, never by a poll', async () => {
    // Long heartbeat interval: a read that polled every quarter interval would take 100 ms or more.
    c = await TestCluster.create(['a', 'b', 'c'], {
      config: { heartbeatIntervalMs: 400, electionTimeoutMinMs: 1500, electionTimeoutMaxMs: 3000 },
    });
    const l = c.raft(await c.leader());
    await l.clientWrite({ key: 'x', value: 1 });
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) await l.ensureLinearizable();
    // 20 reads in turn, each one in-memory round trip: far below 20 × 100 ms even on a loaded machine.
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a read that starts while a round is in flight waits for the next round, then is confirmed', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const leader = await c.leader();
    const l = c.raft(leader);
    await l.clientWrite({ key: 'x', value: 1 });
    l.runtimeConfig.heartbeat(false);
    const first = l.ensureLinearizable();
    await Promise.resolve();
    const second = l.ensureLinearizable();
    const third = (async () => {
      await first;
      return l.ensureLinearizable();
    })();
    await expect(Promise.all([first, second, third])).resolves.toHaveLength(3);
  });
});
