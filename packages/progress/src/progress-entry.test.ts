import { describe, expect, it } from 'vitest';
import { TestLog } from '../test/test-log.ts';
import { InflightIdGen } from './inflight.ts';
import { ProgressEntry } from './progress-entry.ts';

const lid = (term: number, index: number) => ({ term, index });

describe('ProgressEntry.nextSend worked examples', () => {
  it('fresh leader: the first probe is near the middle of the whole log', () => {
    const log = TestLog.uniform(101); // indexes 0..100
    const ids = new InflightIdGen();
    const p = ProgressEntry.forNewLeader(log.last());
    expect(p.matching).toBeNull();
    expect(p.searchingEnd).toBe(101);
    // Candidates -1..100 (101 unknown beyond null): prev at -1 + ceil(101/2) = 50.
    expect(p.nextSend(log, 10, ids)).toEqual({ type: 'logs', id: 1, prev: lid(1, 50), last: lid(1, 60) });
    expect(p.mode()).toBe('probing');
    // Nothing more while a probe is in flight.
    expect(p.nextSend(log, 10, ids)).toBeNull();
  });

  it('empty leader log: pipeline from null at once', () => {
    const p = ProgressEntry.forNewLeader(null);
    expect(p.nextSend(new TestLog([]), 10, new InflightIdGen())).toEqual({
      type: 'logsSince',
      id: 1,
      prev: null,
    });
  });

  it('probe sequence converging on a diverged follower', () => {
    // Leader: 40 entries; terms 1 up to index 19, term 3 after. Follower diverged after index 12
    // (it holds term-2 entries from 13 on), so its match point is 12.
    const log = new TestLog(Array.from({ length: 40 }, (_, i) => (i < 20 ? 1 : 3)));
    const follower = new TestLog(Array.from({ length: 30 }, (_, i) => (i <= 12 ? 1 : 2)));
    const ids = new InflightIdGen();
    const p = ProgressEntry.forNewLeader(log.last());
    const sent: string[] = [];
    for (let step = 0; step < 20 && !p.isConverged(); step++) {
      const s = p.nextSend(log, 4, ids);
      if (s?.type !== 'logs') throw new Error(`expected a probe, got ${JSON.stringify(s)}`);
      const prevIdx = s.prev?.index ?? -1;
      const has = prevIdx < 0 || follower.logIdAt(prevIdx)?.term === s.prev?.term;
      sent.push(`${prevIdx}:${has ? 'ok' : 'conflict'}`);
      if (has) {
        // The follower takes the entries, overwriting its divergent tail.
        follower.terms = [
          ...follower.terms.slice(0, prevIdx + 1),
          ...log.terms.slice(prevIdx + 1, (s.last?.index ?? -1) + 1),
        ];
        expect(p.updateMatching(s.last, s.id)).toEqual({ type: 'updated' });
      } else {
        expect(p.updateConflicting(prevIdx, s.id)).toEqual({ type: 'updated' });
      }
      p.checkInvariants();
    }
    // -1..39: probe 19 (conflict: follower has 2 there), window -1..18 → probe 9 (ok, matching
    // becomes 13 after 4 entries), window 14..18 is small: probe from matching 13 (ok, to 17), then
    // from 17, whose 4 entries take the follower to 3-21, past the old searchingEnd.
    expect(sent).toEqual(['19:conflict', '9:ok', '13:ok', '17:ok']);
    expect(p.matching).toEqual(lid(3, 21));
    expect(p.searchingEnd).toBe(22);
    expect(p.nextSend(log, 4, ids)).toEqual({ type: 'logsSince', id: 5, prev: lid(3, 21) });
    expect(p.mode()).toBe('pipeline');
  });

  it('purged logs force a snapshot when every candidate is purged', () => {
    const log = TestLog.uniform(50, 1, 29); // purged up to 29
    const ids = new InflightIdGen();
    const p = ProgressEntry.forNewLeader(log.last());
    // A probe at 29 (the purged id itself is still known) conflicts: candidates -1..28 are all purged.
    const probe = p.nextSend(log, 100, ids);
    expect(probe).toEqual({ type: 'logs', id: 1, prev: lid(1, 29), last: lid(1, 49) });
    p.updateConflicting(29, 1);
    expect(p.searchingEnd).toBe(29);
    expect(p.nextSend(log, 100, ids)).toEqual({ type: 'snapshot', id: 2 });
    expect(p.mode()).toBe('snapshot');
    expect(p.updateSnapshotInstalled(lid(1, 29), 2)).toEqual({ type: 'updated' });
    expect(p.matching).toEqual(lid(1, 29));
    expect(p.searchingEnd).toBe(30);
    expect(p.nextSend(log, 100, ids)).toEqual({ type: 'logsSince', id: 3, prev: lid(1, 29) });
  });

  it('a probe whose middle falls in the purged range starts at purged instead', () => {
    const log = TestLog.uniform(100, 1, 79);
    const p = ProgressEntry.forNewLeader(log.last());
    expect(p.nextSend(log, 5, new InflightIdGen())).toEqual({
      type: 'logs',
      id: 1,
      prev: lid(1, 79),
      last: lid(1, 84),
    });
  });

  it('whole log purged and match unknown: a snapshot, not an empty probe (dead end)', () => {
    const log = TestLog.uniform(10, 2, 9); // purged === last === 2-9
    const ids = new InflightIdGen();
    const p = ProgressEntry.forNewLeader(log.last());
    expect(p.nextSend(log, 100, ids)).toEqual({ type: 'snapshot', id: 1 });
    p.updateSnapshotInstalled(lid(2, 9), 1);
    expect(p.nextSend(log, 100, ids)).toEqual({ type: 'logsSince', id: 2, prev: lid(2, 9) });
  });

  it('whole log purged but matching already at purged: pipeline, no snapshot', () => {
    const log = TestLog.uniform(10, 2, 9);
    const p = new ProgressEntry({ matching: lid(2, 9), searchingEnd: 10 });
    expect(p.nextSend(log, 100, new InflightIdGen())).toEqual({ type: 'logsSince', id: 1, prev: lid(2, 9) });
  });

  it('caught-up follower enters pipeline mode; acks move prev and keep the stream', () => {
    const log = TestLog.uniform(5, 1);
    const ids = new InflightIdGen();
    const p = ProgressEntry.forNewLeader(log.last());
    const probe = p.nextSend(log, 100, ids);
    expect(probe).toEqual({ type: 'logs', id: 1, prev: null, last: lid(1, 4) });
    p.updateMatching(lid(1, 4), 1);
    expect(p.inflight).toEqual({ type: 'none' });
    expect(p.nextSend(log, 100, ids)).toEqual({ type: 'logsSince', id: 2, prev: lid(1, 4) });
    log.terms.push(1, 1);
    expect(p.updateMatching(lid(1, 6), 2)).toEqual({ type: 'updated' });
    expect(p.inflight).toEqual({ type: 'logsSince', id: 2, prev: lid(1, 6) });
    expect(p.searchingEnd).toBe(7);
    expect(p.nextSend(log, 100, ids)).toBeNull();
    // An older cumulative ack does not move anything back.
    p.updateMatching(lid(1, 5), 2);
    expect(p.matching).toEqual(lid(1, 6));
    expect(p.inflight).toEqual({ type: 'logsSince', id: 2, prev: lid(1, 6) });
  });

  it('reversion not allowed: throws LogReversionError and changes nothing', () => {
    const p = new ProgressEntry({ matching: lid(1, 10), searchingEnd: 11, target: 'n2' });
    const ids = new InflightIdGen();
    const s = p.nextSend(TestLog.uniform(20), 100, ids);
    expect(s).toEqual({ type: 'logsSince', id: 1, prev: lid(1, 10) });
    expect(() => p.updateConflicting(10, 1)).toThrow(
      expect.objectContaining({
        code: 'LOG_REVERSION',
        target: 'n2',
        matching: lid(1, 10),
        conflictIndex: 10,
      }),
    );
    expect(p.matching).toEqual(lid(1, 10));
    expect(p.inflight).toEqual(s);
  });

  it('reversion allowed once: matching resets, the permission is consumed', () => {
    const p = new ProgressEntry({ matching: lid(1, 10), searchingEnd: 11 });
    p.allowReversionOnce = true;
    const ids = new InflightIdGen();
    const log = TestLog.uniform(20);
    p.nextSend(log, 100, ids);
    expect(p.updateConflicting(6, 1)).toEqual({ type: 'updated' });
    expect(p).toMatchObject({
      matching: null,
      searchingEnd: 6,
      allowReversionOnce: false,
      inflight: { type: 'none' },
    });
    expect(p.nextSend(log, 100, ids)).toEqual({ type: 'logs', id: 2, prev: null, last: lid(1, 19) });
    p.updateMatching(lid(1, 3), 2);
    p.nextSend(log, 100, ids);
    expect(() => p.updateConflicting(2, 3)).toThrow(expect.objectContaining({ code: 'LOG_REVERSION' }));
  });

  it('reversion allowed by config: every reversion resets matching', () => {
    const p = ProgressEntry.forNewLeader(lid(1, 19), { allowLogReversion: true });
    p.updateMatching(lid(1, 15));
    p.updateConflicting(15);
    expect(p.matching).toBeNull();
    expect(p.searchingEnd).toBe(15);
    p.updateMatching(lid(1, 4));
    p.updateConflicting(0);
    expect(p.matching).toBeNull();
    expect(p.searchingEnd).toBe(0);
    p.checkInvariants();
  });
});
