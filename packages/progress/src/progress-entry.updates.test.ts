import { describe, expect, it } from 'vitest';
import { TestLog } from '../test/test-log.ts';
import { InflightIdGen } from './inflight.ts';
import { ProgressEntry } from './progress-entry.ts';

const lid = (term: number, index: number) => ({ term, index });

describe('InflightIdGen', () => {
  it('hands out strictly increasing ids, starting after `start`', () => {
    const g = new InflightIdGen(41);
    expect([g.next(), g.next(), g.next()]).toEqual([42, 43, 44]);
    expect(g.peek()).toBe(44);
    expect(() => new InflightIdGen(-1)).toThrow(RangeError);
  });
});

describe('ProgressEntry updates', () => {
  it('a stale ack or conflict changes nothing and says so', () => {
    const log = TestLog.uniform(30);
    const ids = new InflightIdGen();
    const p = ProgressEntry.forNewLeader(log.last());
    const s = p.nextSend(log, 5, ids);
    const before = p.toString();
    expect(p.updateMatching(lid(1, 29), 99)).toEqual({ type: 'stale' });
    expect(p.updateConflicting(3, 99)).toEqual({ type: 'stale' });
    expect(p.updateSnapshotInstalled(lid(1, 29), 99)).toEqual({ type: 'stale' });
    expect(p.releaseInflight(99)).toEqual({ type: 'stale' });
    expect(p.toString()).toBe(before);
    expect(p.inflight).toEqual(s);
  });

  it('a duplicate conflict for an already-closed inflight is tolerated as stale', () => {
    const log = TestLog.uniform(30);
    const p = ProgressEntry.forNewLeader(log.last());
    const s = p.nextSend(log, 5, new InflightIdGen());
    if (s === null || s.type !== 'logs') throw new Error('expected a probe');
    expect(p.updateConflicting(15, s.id)).toEqual({ type: 'updated' });
    expect(p.updateConflicting(15, s.id)).toEqual({ type: 'stale' });
    expect(p.searchingEnd).toBe(15);
  });

  it('an ack without id moves matching only; the inflight stays', () => {
    const log = TestLog.uniform(30);
    const p = ProgressEntry.forNewLeader(log.last());
    const s = p.nextSend(log, 5, new InflightIdGen());
    expect(p.updateMatching(lid(1, 7))).toEqual({ type: 'updated' });
    expect(p.matching).toEqual(lid(1, 7));
    expect(p.inflight).toEqual(s);
    // Never down.
    p.updateMatching(lid(1, 3));
    expect(p.matching).toEqual(lid(1, 7));
  });

  it('a conflict without id narrows the window but leaves the inflight', () => {
    const log = TestLog.uniform(30);
    const p = ProgressEntry.forNewLeader(log.last());
    const s = p.nextSend(log, 5, new InflightIdGen());
    p.updateConflicting(20);
    expect(p.searchingEnd).toBe(20);
    expect(p.inflight).toEqual(s);
    // A conflict above searchingEnd does not raise it.
    p.updateConflicting(25);
    expect(p.searchingEnd).toBe(20);
  });

  it('an ack on a snapshot inflight moves matching and keeps the snapshot in flight', () => {
    const log = TestLog.uniform(30, 1, 20);
    const ids = new InflightIdGen();
    const p = new ProgressEntry({ matching: null, searchingEnd: 5 });
    const s = p.nextSend(log, 5, ids);
    expect(s).toEqual({ type: 'snapshot', id: 1 });
    p.updateMatching(lid(1, 2), 1);
    expect(p.inflight).toEqual(s);
    expect(p.updateSnapshotInstalled(lid(1, 20), 1)).toEqual({ type: 'updated' });
    expect(p).toMatchObject({ matching: lid(1, 20), searchingEnd: 21, inflight: { type: 'none' } });
  });

  it('updateSnapshotInstalled on a non-snapshot inflight with the current id is a bug', () => {
    const log = TestLog.uniform(30);
    const p = ProgressEntry.forNewLeader(log.last());
    p.nextSend(log, 5, new InflightIdGen());
    expect(() => p.updateSnapshotInstalled(lid(1, 3), 1)).toThrow(
      expect.objectContaining({ code: 'PANICKED' }),
    );
  });

  it('releaseInflight ends the current inflight only', () => {
    const log = TestLog.uniform(30);
    const ids = new InflightIdGen();
    const p = ProgressEntry.forNewLeader(log.last());
    p.nextSend(log, 5, ids);
    expect(p.releaseInflight(1)).toEqual({ type: 'updated' });
    expect(p.mode()).toBe('idle');
    expect(p.releaseInflight(1)).toEqual({ type: 'stale' });
    // The retry gets a fresh id.
    expect(p.nextSend(log, 5, ids)).toMatchObject({ type: 'logs', id: 2 });
  });

  it('isLogRangeInflight tells whether purging up to an index must wait', () => {
    const p = new ProgressEntry({ matching: lid(1, 10), searchingEnd: 11 });
    expect(p.isLogRangeInflight(100)).toBe(false);
    p.inflight = { type: 'logs', id: 1, prev: lid(1, 10), last: lid(1, 15) };
    expect(p.isLogRangeInflight(10)).toBe(false);
    expect(p.isLogRangeInflight(11)).toBe(true);
    p.inflight = { type: 'logs', id: 2, prev: lid(1, 10), last: lid(1, 10) }; // empty probe
    expect(p.isLogRangeInflight(50)).toBe(false);
    p.inflight = { type: 'logs', id: 3, prev: null, last: lid(1, 0) };
    expect(p.isLogRangeInflight(0)).toBe(true);
    p.inflight = { type: 'logsSince', id: 4, prev: lid(1, 10) };
    expect(p.isLogRangeInflight(10)).toBe(false);
    expect(p.isLogRangeInflight(11)).toBe(true);
    p.inflight = { type: 'snapshot', id: 5 };
    expect(p.isLogRangeInflight(100)).toBe(false);
  });

  it('bad input raises typed errors', () => {
    const log = TestLog.uniform(30);
    const p = ProgressEntry.forNewLeader(log.last());
    expect(() => p.nextSend(log, 0, new InflightIdGen())).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
    expect(() => p.updateConflicting(-1)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    expect(() => p.updateConflicting(1.5)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    expect(() => p.updateMatching({ term: -1, index: 2 })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
    expect(() => new ProgressEntry({ matching: lid(1, 5), searchingEnd: 5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
  });

  it('a log view behind matching is reported as a bug, not answered', () => {
    const p = new ProgressEntry({ matching: lid(1, 40), searchingEnd: 41 });
    expect(() => p.nextSend(TestLog.uniform(30), 5, new InflightIdGen())).toThrow(
      expect.objectContaining({ code: 'PANICKED' }),
    );
  });

  it('checkInvariants catches a broken window', () => {
    const p = new ProgressEntry({ matching: lid(1, 5), searchingEnd: 6 });
    p.checkInvariants();
    p.searchingEnd = 3;
    expect(() => p.checkInvariants()).toThrow(/nextIndex\(matching\) > searchingEnd/);
    p.searchingEnd = 10;
    p.inflight = { type: 'logs', id: 1, prev: lid(1, 8), last: lid(1, 7) };
    expect(() => p.checkInvariants()).toThrow(/prev > last/);
  });

  it('mode and toString follow the inflight', () => {
    const p = new ProgressEntry({ matching: lid(2, 5), searchingEnd: 6 });
    expect(p.toString()).toBe('matching=2-5 end=6 inflight=none');
    p.inflight = { type: 'logsSince', id: 7, prev: lid(2, 5) };
    expect(p.toString()).toBe('matching=2-5 end=6 inflight=logsSince#7(2-5,..)');
    expect(p.mode()).toBe('pipeline');
  });
});
