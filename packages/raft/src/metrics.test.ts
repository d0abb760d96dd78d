import type { Clock } from '@flotilla/types';
import { ErrorCode, type RaftMetrics, uniformMembership } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { MetricsHub, Wait } from './metrics.ts';
import { baseMetrics } from './test-metrics.ts';

/** A manual clock: timers fire when the test advances time. */
function manualClock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => timers.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers])
      if (t.at <= now) {
        timers.delete(id);
        t.fn();
      }
  };
  return { clock, advance, pending: () => timers.size };
}

describe('MetricsHub and Wait', () => {
  it('publishes only real changes and unsubscribes', () => {
    const hub = new MetricsHub(baseMetrics());
    const seen: number[] = [];
    const off = hub.subscribe((m) => seen.push(m.currentTerm));
    hub.publish({ ...baseMetrics() });
    hub.publish({ ...baseMetrics(), currentTerm: 1 });
    off();
    hub.publish({ ...baseMetrics(), currentTerm: 2 });
    expect(seen).toEqual([1]);
    expect(hub.current.currentTerm).toBe(2);
  });
  it('publishes a membership commit, an ack time, and a log reversion', () => {
    const hub = new MetricsHub(baseMetrics());
    const seen: RaftMetrics[] = [];
    hub.subscribe((m) => seen.push(m));
    const m1 = { logId: { term: 1, index: 1 }, membership: uniformMembership({ a: { addr: 'a' } }) };
    const leader: RaftMetrics = {
      ...baseMetrics(),
      membership: m1,
      replication: { b: { matching: null, mode: 'idle', lastAcked: null } },
    };
    hub.publish(leader);
    // The same membership committed: only committedMembership differs.
    const committed = { ...leader, committedMembership: m1 };
    hub.publish(committed);
    hub.publish({ ...committed }); // nothing new
    const acked = {
      ...committed,
      replication: { b: { matching: null, mode: 'idle' as const, lastAcked: 5 } },
    };
    hub.publish(acked);
    hub.publish({ ...acked, lastQuorumAcked: 5 });
    hub.publish({
      ...acked,
      lastQuorumAcked: 5,
      replication: {
        b: {
          matching: null,
          mode: 'idle',
          lastAcked: 5,
          logReversion: {
            matching: { term: 1, index: 1 },
            conflictIndex: 1,
            repaired: false,
            error: { code: 'LOG_REVERSION', message: 'refused' },
          },
        },
      },
    });
    expect(seen.length).toBe(5);
    expect(seen[1]?.committedMembership).toBe(m1);
    expect(seen[2]?.replication?.b?.lastAcked).toBe(5);
    expect(seen[3]?.lastQuorumAcked).toBe(5);
    expect(seen[4]?.replication?.b?.logReversion?.repaired).toBe(false);
  });
  it('resolves at once when the predicate already holds, and later on a change', async () => {
    const { clock } = manualClock();
    const hub = new MetricsHub(baseMetrics());
    const w = new Wait(hub, clock, 1000);
    await expect(w.state('Follower')).resolves.toMatchObject({ state: 'Follower' });
    const applied = w.appliedIndex(3);
    const leader = w.currentLeader('b');
    const term = w.term(2);
    const committed = w.committedIndex(3);
    const logIndex = w.logIndex(3);
    const snap = w.snapshot({ term: 1, index: 2 });
    const purged = w.purged({ term: 1, index: 1 });
    const m = uniformMembership({ a: { addr: 'a' }, b: { addr: 'b' } });
    const members = w.members(['b', 'a']);
    hub.publish({
      ...baseMetrics(),
      currentTerm: 2,
      currentLeader: 'b',
      lastApplied: { term: 1, index: 3 },
      committed: { term: 1, index: 3 },
      lastLogIndex: 3,
      snapshot: { term: 1, index: 2 },
      purged: { term: 1, index: 1 },
      membership: { logId: { term: 1, index: 0 }, membership: m },
    });
    await expect(
      Promise.all([applied, leader, term, committed, logIndex, snap, purged, members]),
    ).resolves.toHaveLength(8);
  });
  it('times out with a typed error naming the condition, leaving no timer behind', async () => {
    const { clock, advance, pending } = manualClock();
    const hub = new MetricsHub(baseMetrics());
    const p = new Wait(hub, clock, 500).appliedIndex(10, 'ten applied');
    advance(499);
    advance(1);
    await expect(p).rejects.toMatchObject({
      code: ErrorCode.Timeout,
      message: expect.stringContaining('ten applied'),
    });
    expect(pending()).toBe(0);
  });
  it('fails pending and later waits with Stopped when the hub closes', async () => {
    const { clock } = manualClock();
    const hub = new MetricsHub(baseMetrics());
    const p = new Wait(hub, clock, 500).state('Leader');
    hub.close();
    await expect(p).rejects.toMatchObject({ code: ErrorCode.Stopped });
    await expect(new Wait(hub, clock, 500).state('Leader')).rejects.toMatchObject({
      code: ErrorCode.Stopped,
    });
  });
});

describe('MetricsHub listeners', () => {
  it('a throwing listener is reported, never thrown into the publisher, and the others still run', () => {
    const errors: unknown[] = [];
    const hub = new MetricsHub(baseMetrics(), (e) => errors.push(e));
    const seen: number[] = [];
    hub.subscribe(() => {
      throw new Error('bad listener');
    });
    hub.subscribe((m) => seen.push(m.currentTerm));
    expect(() => hub.publish({ ...baseMetrics(), currentTerm: 1 })).not.toThrow();
    expect(() => hub.close()).not.toThrow();
    expect(seen).toEqual([1, 1]);
    expect(errors).toHaveLength(2);
  });
});
