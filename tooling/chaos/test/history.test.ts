import { UNKNOWN } from '@flotilla/testkit';
import { describe, expect, it } from 'vitest';
import { countOps, HistoryRecorder, toCheckerHistory } from '../src/history.ts';

function clock() {
  let t = 0;
  return { now: () => t, set: (x: number) => (t = x) };
}

describe('HistoryRecorder', () => {
  it('records invoke and completion times, results and outcomes', () => {
    const c = clock();
    const h = new HistoryRecorder(c.now);
    c.set(1);
    const w = h.invoke({ client: 0, kind: 'write', key: 'k', node: 1, value: 'a' });
    c.set(2);
    const r = h.invoke({ client: 1, kind: 'read', key: 'k', node: 2 });
    c.set(5);
    h.complete(w, 'ok', { logIndex: 7 });
    c.set(6);
    h.complete(r, 'ok', { value: 'a' });
    expect(h.ops).toEqual([
      {
        id: 0,
        client: 0,
        kind: 'write',
        key: 'k',
        node: 1,
        value: 'a',
        invokeMs: 1,
        completeMs: 5,
        outcome: 'ok',
        result: { logIndex: 7 },
      },
      {
        id: 1,
        client: 1,
        kind: 'read',
        key: 'k',
        node: 2,
        invokeMs: 2,
        completeMs: 6,
        outcome: 'ok',
        result: { value: 'a' },
      },
    ]);
    expect(() => h.complete(w, 'fail')).toThrow(/completed twice/);
  });

  it('keeps unknown outcomes and marks operations still in flight as unknown', () => {
    const c = clock();
    const h = new HistoryRecorder(c.now);
    const a = h.invoke({ client: 0, kind: 'cas', key: 'k', node: 1, value: 'b', expected: null });
    h.complete(a, 'unknown', undefined, 'ECONNRESET');
    h.invoke({ client: 1, kind: 'insert', key: 'i0', node: 1, value: 'c' });
    expect(h.closeInFlight()).toBe(1);
    expect(h.ops.map((o) => [o.outcome, o.completeMs, o.error])).toEqual([
      ['unknown', null, 'ECONNRESET'],
      ['unknown', null, 'still in flight when the run ended'],
    ]);
    expect(countOps(h.ops)).toEqual({
      read: { ok: 0, fail: 0, unknown: 0 },
      write: { ok: 0, fail: 0, unknown: 0 },
      cas: { ok: 0, fail: 0, unknown: 1 },
      insert: { ok: 0, fail: 0, unknown: 1 },
      append: { ok: 0, fail: 0, unknown: 0 },
    });
  });

  it('converts to the checker history: failures left out, unknowns open-ended', () => {
    const c = clock();
    const h = new HistoryRecorder(c.now);
    const ok = h.invoke({ client: 0, kind: 'cas', key: 'k', node: 1, value: 'b', expected: 'a' });
    c.set(3);
    h.complete(ok, 'ok', { value: 'b', applied: true });
    const failed = h.invoke({ client: 0, kind: 'write', key: 'k', node: 2, value: 'x' });
    h.complete(failed, 'fail', undefined, 'ECONNREFUSED');
    c.set(4);
    const unk = h.invoke({ client: 1, kind: 'write', key: 'k', node: 1, value: 'y' });
    h.complete(unk, 'unknown');
    const rd = h.invoke({ client: 2, kind: 'read', key: 'k', node: 3 });
    c.set(9);
    h.complete(rd, 'ok', { value: null });
    expect(toCheckerHistory(h.ops)).toEqual([
      {
        clientId: 0,
        input: { kind: 'cas', key: 'k', expected: 'a', value: 'b' },
        output: { applied: true, value: 'b' },
        call: 0,
        return: 3,
      },
      {
        clientId: 1,
        input: { kind: 'set', key: 'k', value: 'y' },
        output: UNKNOWN,
        call: 4,
        return: Infinity,
      },
      { clientId: 2, input: { kind: 'get', key: 'k' }, output: { value: null }, call: 4, return: 9 },
    ]);
  });
});
