import { indexOf, type LogId } from '@flotilla/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InflightIdGen } from '../src/inflight.ts';
import { ProgressEntry } from '../src/progress-entry.ts';
import { FollowerModel, termsFrom } from './follower.ts';
import { TestLog } from './test-log.ts';

/** A reply the follower sent and the network still holds (it may arrive late, twice, or never). */
type Reply =
  | { kind: 'ack'; id: number; matching: LogId | null }
  | { kind: 'conflict'; id: number; index: number }
  | { kind: 'installed'; id: number; last: LogId | null };

const op = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ type: fc.constant('send' as const), maxEntries: fc.integer({ min: 1, max: 12 }) }),
  },
  { weight: 6, arbitrary: fc.record({ type: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('duplicate' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('release' as const) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('heartbeat' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('append' as const), count: fc.integer({ min: 1, max: 5 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('purge' as const),
      frac: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('crash' as const),
      keepFrac: fc.double({ min: 0, max: 1, noNaN: true }),
      allowOnce: fc.boolean(),
    }),
  },
);

const start = fc.record({
  leaderSteps: fc.array(fc.boolean(), { maxLength: 40 }),
  followerKeep: fc.nat(40),
  followerExtra: fc.nat(10),
  allowLogReversion: fc.boolean(),
});

describe('ProgressEntry under random sends, (stale) replies, conflicts and reversions', () => {
  it('keeps its invariants and brackets the true match point', () => {
    fc.assert(
      fc.property(start, fc.array(op, { maxLength: 120 }), (init, ops) => {
        const leader = new TestLog(termsFrom(init.leaderSteps, 2));
        const keep = Math.min(init.followerKeep, leader.terms.length);
        const follower = new FollowerModel([
          ...leader.terms.slice(0, keep),
          ...Array.from({ length: init.followerExtra }, () => 1),
        ]);
        const ids = new InflightIdGen();
        const p = ProgressEntry.forNewLeader(leader.last(), { allowLogReversion: init.allowLogReversion });
        let network: Reply[] = [];
        const delivered: Reply[] = [];
        // True while the follower lost entries it had acknowledged and the progress has not noticed.
        let undetectedReversion = false;

        const feed = (r: Reply): void => {
          const before = p.toString();
          const current = p.inflight.type === 'none' ? null : p.inflight.id;
          const stale = current !== r.id;
          let res: { type: string };
          if (r.kind === 'ack') res = p.updateMatching(r.matching, r.id);
          else if (r.kind === 'installed') res = p.updateSnapshotInstalled(r.last, r.id);
          else {
            const reverting = !stale && r.index <= indexOf(p.matching);
            const allowed = p.allowLogReversion || p.allowReversionOnce;
            if (reverting && !allowed) {
              expect(() => p.updateConflicting(r.index, r.id)).toThrow(
                expect.objectContaining({ code: 'LOG_REVERSION' }),
              );
              expect(p.toString()).toBe(before);
              p.allowReversionOnce = true; // the operator allows it; retry
            }
            res = p.updateConflicting(r.index, r.id);
            if (reverting) {
              expect(p.matching).toBeNull();
              expect(p.allowReversionOnce).toBe(false);
              undetectedReversion = false;
            }
          }
          expect(res.type).toBe(stale ? 'stale' : 'updated');
          if (stale) expect(p.toString()).toBe(before);
        };

        for (const o of ops) {
          switch (o.type) {
            case 'send': {
              const s = p.nextSend(leader, o.maxEntries, ids);
              if (s === null) {
                expect(p.inflight.type).not.toBe('none');
                break;
              }
              if (s.type === 'logs') {
                expect(s.prev === null || leader.logIdAt(s.prev.index) !== null).toBe(true);
                network.push(
                  follower.append(leader, s.prev, s.last)
                    ? { kind: 'ack', id: s.id, matching: s.last }
                    : { kind: 'conflict', id: s.id, index: s.prev?.index ?? 0 },
                );
              } else if (s.type === 'logsSince') {
                if (follower.append(leader, s.prev, leader.last())) {
                  network.push({ kind: 'ack', id: s.id, matching: leader.last() });
                } else network.push({ kind: 'conflict', id: s.id, index: s.prev?.index ?? 0 });
              } else if (s.type === 'snapshot') {
                const last = leader.purged() ?? leader.last();
                follower.installSnapshot(leader, last);
                network.push({ kind: 'installed', id: s.id, last });
              }
              break;
            }
            case 'deliver':
            case 'duplicate':
            case 'drop': {
              const from = o.type === 'duplicate' ? delivered : network;
              if (from.length === 0) break;
              const i = o.pick % from.length;
              const r = from[i] as Reply;
              if (o.type !== 'duplicate') from.splice(i, 1);
              if (o.type === 'drop') break;
              feed(r);
              if (o.type === 'deliver') delivered.push(r);
              break;
            }
            case 'release':
              if (p.inflight.type !== 'none') expect(p.releaseInflight(p.inflight.id).type).toBe('updated');
              break;
            case 'heartbeat': {
              // An empty AppendEntries with prev = matching, on its own connection (no inflight id).
              if (follower.has(p.matching)) p.updateMatching(p.matching);
              else if (p.matching !== null) {
                p.allowReversionOnce = p.allowReversionOnce || !p.allowLogReversion;
                p.updateConflicting(p.matching.index);
                expect(p.matching).toBeNull();
                undetectedReversion = false;
              }
              break;
            }
            case 'append':
              for (let i = 0; i < o.count; i++) leader.terms.push(leader.terms.at(-1) ?? 2);
              break;
            case 'purge': {
              const last = indexOf(leader.last());
              const upto = Math.max(leader.purgedIndex, Math.floor(o.frac * last));
              if (upto >= 0 && !p.isLogRangeInflight(upto)) leader.purgedIndex = upto;
              break;
            }
            case 'crash': {
              // The follower restarts having lost part of its log; in-flight replies are lost with it.
              follower.terms.length = Math.floor(o.keepFrac * follower.terms.length);
              network = [];
              if (p.inflight.type !== 'none') p.releaseInflight(p.inflight.id);
              if (follower.matchPoint(leader) < indexOf(p.matching)) undetectedReversion = true;
              p.allowReversionOnce = o.allowOnce;
              break;
            }
          }
          p.checkInvariants();
          const truth = follower.matchPoint(leader);
          if (!undetectedReversion) expect(indexOf(p.matching)).toBeLessThanOrEqual(truth);
        }

        // Finally the network heals: pending replies are lost, a heartbeat reveals any reversion,
        // and replying promptly must converge to a pipeline that has the follower fully caught up.
        if (p.inflight.type !== 'none') p.releaseInflight(p.inflight.id);
        if (!follower.has(p.matching)) {
          p.allowReversionOnce = true;
          p.updateConflicting(indexOf(p.matching));
        }
        let caughtUp = false;
        for (let round = 0; round < 100 && !caughtUp; round++) {
          const s = p.nextSend(leader, 4, ids);
          if (s === null || s.type === 'none') throw new Error(`idle progress sent nothing: ${p.toString()}`);
          if (s.type === 'snapshot') {
            const last = leader.purged() ?? leader.last();
            follower.installSnapshot(leader, last);
            p.updateSnapshotInstalled(last, s.id);
          } else {
            const last = s.type === 'logs' ? s.last : leader.last();
            if (follower.append(leader, s.prev, last)) p.updateMatching(last, s.id);
            else p.updateConflicting(s.prev?.index ?? 0, s.id);
            caughtUp = s.type === 'logsSince' && follower.has(last);
          }
          p.checkInvariants();
        }
        expect(caughtUp).toBe(true);
        expect(p.matching).toEqual(leader.last());
        expect(follower.matchPoint(leader)).toBe(indexOf(leader.last()));
      }),
      { numRuns: 300 },
    );
  });
});
