import { ErrorCode, hasErrorCode, type RaftMetrics, uniformMembership } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { MetricsHub } from './metrics.ts';
import { onLeaderChange, type WatchKind, watchMetric } from './metrics-watch.ts';
import { baseMetrics } from './test-metrics.ts';

describe('watchMetric', () => {
  it('calls back only when its kind changes, with the value it replaced', () => {
    const hub = new MetricsHub(baseMetrics());
    const applied: unknown[] = [];
    const off = watchMetric(hub, 'applied', (v, prev) => applied.push([v, prev]));
    hub.publish({ ...baseMetrics(), lastLogIndex: 3 }); // another kind: not heard
    hub.publish({ ...baseMetrics(), lastLogIndex: 3, lastApplied: { term: 1, index: 1 } });
    hub.publish({ ...baseMetrics(), lastLogIndex: 3, lastApplied: { term: 1, index: 1 }, currentTerm: 2 });
    hub.publish({ ...baseMetrics(), lastLogIndex: 3, lastApplied: { term: 1, index: 2 }, currentTerm: 2 });
    off();
    hub.publish({ ...baseMetrics(), lastApplied: { term: 1, index: 3 } });
    expect(applied).toEqual([
      [{ term: 1, index: 1 }, null],
      [
        { term: 1, index: 2 },
        { term: 1, index: 1 },
      ],
    ]);
  });

  it('follows each kind through its own field', () => {
    const cases: [WatchKind, Partial<RaftMetrics>][] = [
      ['log', { lastLogIndex: 7 }],
      ['vote', { vote: { term: 2, nodeId: 'b', committed: false } }],
      ['committed', { committed: { term: 1, index: 4 } }],
      ['snapshot', { snapshot: { term: 1, index: 4 } }],
      [
        'membership',
        { membership: { logId: { term: 1, index: 1 }, membership: uniformMembership({ a: { addr: 'a' } }) } },
      ],
      ['state', { state: 'Leader' }],
    ];
    for (const [kind, change] of cases) {
      const hub = new MetricsHub(baseMetrics());
      const seen: unknown[] = [];
      watchMetric(hub, kind, (v) => seen.push(v));
      hub.publish({ ...baseMetrics(), currentTerm: 9 });
      hub.publish({ ...baseMetrics(), currentTerm: 9, ...change });
      expect(seen, kind).toEqual([Object.values(change)[0]]);
    }
  });

  it('refuses an unknown kind with a typed error', () => {
    const hub = new MetricsHub(baseMetrics());
    let err: unknown;
    try {
      watchMetric(hub, 'nope' as WatchKind, () => {});
    } catch (e) {
      err = e;
    }
    expect(hasErrorCode(err, ErrorCode.InvalidRequest)).toBe(true);
  });
});

describe('onLeaderChange', () => {
  it('reports each change of the known leader with its term', () => {
    const hub = new MetricsHub(baseMetrics());
    const seen: unknown[] = [];
    onLeaderChange(hub, (c) => seen.push(c));
    hub.publish({ ...baseMetrics(), currentTerm: 1, currentLeader: 'b' });
    hub.publish({ ...baseMetrics(), currentTerm: 1, currentLeader: 'b', lastLogIndex: 2 });
    hub.publish({ ...baseMetrics(), currentTerm: 2, currentLeader: null });
    hub.publish({ ...baseMetrics(), currentTerm: 2, currentLeader: 'a' });
    expect(seen).toEqual([
      { leader: 'b', previous: null, term: 1 },
      { leader: null, previous: 'b', term: 2 },
      { leader: 'a', previous: null, term: 2 },
    ]);
  });
});
