import type { AppendEntriesRequest, NodeId } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG, delay, TestCluster } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('heartbeats', () => {
  it('large heartbeat: heartbeats stay empty, small and on time while big, slow appends flow', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { config: { maxPayloadEntries: 10 } });
    const l = await c.leader();
    const term = c.raft(l).metrics.current.currentTerm;
    const heartbeats: { to: NodeId; at: number; entries: number; bytes: number }[] = [];
    let biggestAppend = 0;
    let slowAppends = 0;
    c.router.before('appendEntries', (ctx) => {
      const req = ctx.request as AppendEntriesRequest;
      if (ctx.from !== l) return; // entries go on streams: every unary AppendEntries is a heartbeat
      heartbeats.push({
        to: ctx.to,
        at: Date.now(),
        entries: req.entries.length,
        bytes: JSON.stringify(req).length,
      });
    });
    c.router.before('streamAppend', async (ctx) => {
      const req = ctx.request as AppendEntriesRequest;
      if (req.entries.length === 0) return;
      biggestAppend = Math.max(biggestAppend, JSON.stringify(req).length);
      slowAppends++;
      await delay(120); // a big request takes a while on the wire
    });
    const big = (i: number) => ({ key: `${i}-${'x'.repeat(20_000)}`, value: i });
    const started = Date.now();
    for (let round = 0; round < 4; round++) {
      const res = await c.raft(l).clientWriteMany(Array.from({ length: 30 }, (_, i) => big(round * 30 + i)));
      await c.applied(res[29]?.logId.index ?? 0);
    }
    const ended = Date.now();
    expect(slowAppends).toBeGreaterThanOrEqual(8);
    expect(biggestAppend).toBeGreaterThan(100_000);
    for (const f of ['a', 'b', 'c'].filter((id) => id !== l)) {
      const mine = heartbeats.filter((h) => h.to === f && h.at >= started && h.at <= ended);
      expect(mine.length).toBeGreaterThanOrEqual(3);
      expect(mine.every((h) => h.entries === 0)).toBe(true);
      expect(Math.max(...mine.map((h) => h.bytes))).toBeLessThan(1_000);
      const times = [started, ...mine.map((h) => h.at), ended];
      const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
      // Never a gap that would let a follower's election timer fire.
      expect(Math.max(...gaps)).toBeLessThan(CONFIG.electionTimeoutMinMs ?? 400);
    }
    expect(c.raft(l).metrics.current.state).toBe('Leader');
    for (const n of c.nodes.values()) expect(n.raft.metrics.current.currentTerm).toBe(term);
  }, 30_000);
});
