import { describe, expect, it } from 'vitest';
import type { RecordedOp } from '../src/history.ts';
import { computeVerdict, findLostWrites } from '../src/verdict.ts';

let nextId = 0;
function op(p: Partial<RecordedOp> & Pick<RecordedOp, 'kind' | 'key' | 'invokeMs'>): RecordedOp {
  return { id: nextId++, client: 0, node: 1, completeMs: null, outcome: 'ok', ...p };
}
const set = (key: string, value: string, invokeMs: number, completeMs: number, client = 0) =>
  op({ kind: 'write', key, value, invokeMs, completeMs, client });
const read = (key: string, value: string | null, invokeMs: number, completeMs: number, client = 1) =>
  op({ kind: 'read', key, invokeMs, completeMs, client, result: { value } });

/** 100 harmless reads so the unknown share of small histories stays under 1%. */
function padding(): RecordedOp[] {
  return Array.from({ length: 100 }, (_, i) => read('pad', null, 1000 + i, 1000.5 + i, 9));
}

const base = { finalAtMs: 10_000, converged: true };

describe('computeVerdict', () => {
  it('passes a linearizable history whose acknowledged writes all survive on identical nodes', () => {
    const ops = [
      set('k', 'a', 0, 1),
      set('k', 'b', 2, 3),
      read('k', 'b', 4, 5),
      op({
        kind: 'cas',
        key: 'k',
        expected: 'b',
        value: 'c',
        invokeMs: 6,
        completeMs: 7,
        result: { applied: true, value: 'c' },
      }),
      op({ kind: 'insert', key: 'i0', value: 'x', invokeMs: 6, completeMs: 8 }),
      // An unknown write that did take effect explains a final value.
      op({ kind: 'write', key: 'u', value: 'maybe', invokeMs: 8, outcome: 'unknown' }),
      ...padding(),
    ];
    const final = {
      '1': { k: 'c', i0: 'x', u: 'maybe', pad: null },
      '2': { k: 'c', i0: 'x', u: 'maybe', pad: null },
    };
    const v = computeVerdict({ ...base, ops, final });
    expect(v.reasons).toEqual([]);
    expect(v.pass).toBe(true);
    expect(v.history).toBe('linearizable');
    expect(v.acknowledgedWrites).toBe(4);
    expect(v.lost).toEqual([]);
    expect(v.stateMachinesIdentical).toBe(true);
    expect(v.unknown).toBe(1);
  });

  it('fails a run that lost an acknowledged write, and names the write', () => {
    const ops = [
      set('k', 'a', 0, 1),
      set('k', 'b', 2, 3),
      op({ kind: 'insert', key: 'i0', value: 'x', invokeMs: 4, completeMs: 5 }),
    ];
    // Both nodes came back with the older value: b, acknowledged after a, is gone; so is the insert.
    const final = { '1': { k: 'a', i0: null }, '2': { k: 'a', i0: null } };
    const v = computeVerdict({ ...base, ops, final });
    expect(v.pass).toBe(false);
    expect(v.lost.map((w) => [w.key, w.value, w.found])).toEqual([
      ['k', 'b', 'a'],
      ['i0', 'x', null],
    ]);
    expect(v.history).toBe('NOT linearizable');
    expect(v.reasons).toContain('2 acknowledged writes lost');
  });

  it('fails a stale read as not linearizable and explains the smallest failing slice', () => {
    const ops = [set('k', 'a', 0, 1), set('k', 'b', 2, 3), read('k', 'a', 4, 5), ...padding()];
    const final = { '1': { k: 'b', pad: null }, '2': { k: 'b', pad: null } };
    const v = computeVerdict({ ...base, ops, final });
    expect(v.pass).toBe(false);
    expect(v.history).toBe('NOT linearizable');
    expect(v.lost).toEqual([]);
    expect(v.explanation).toContain('key "k"');
    expect(v.explanation).toContain('get("k") → "a"');
  });

  it('fails diverging state machines and values no operation could have written', () => {
    const ops = [
      set('k', 'a', 0, 1),
      op({ kind: 'write', key: 'f', value: 'z', invokeMs: 2, completeMs: 3, outcome: 'fail' }),
    ];
    const final = { '1': { k: 'a', f: 'z' }, '2': { k: 'a', f: null } };
    const v = computeVerdict({ ...base, ops, final });
    expect(v.stateMachinesIdentical).toBe(false);
    expect(v.divergent).toEqual([{ key: 'f', values: { '1': 'z', '2': null } }]);
    expect(v.unexplained).toEqual([{ key: 'f', node: '1', value: 'z' }]);
    expect(v.pass).toBe(false);
  });

  it('fails more than 1% unknown outcomes, no convergence, and harness errors', () => {
    const ops = [
      set('k', 'a', 0, 1),
      op({ kind: 'write', key: 'k', value: 'b', invokeMs: 2, outcome: 'unknown' }),
    ];
    const final = { '1': { k: 'a' } };
    const v = computeVerdict({
      ...base,
      ops,
      final,
      converged: false,
      harnessErrors: ['cut 127.0.0.11 → 127.0.0.12 not effective: probe connected'],
    });
    expect(v.pass).toBe(false);
    expect(v.reasons).toEqual([
      'cut 127.0.0.11 → 127.0.0.12 not effective: probe connected',
      'the cluster did not converge after the last heal',
      '50.00% unknown outcomes (limit 1.00%)',
    ]);
  });
});

describe('findLostWrites', () => {
  it('accepts a final value written by a write concurrent with the acknowledged one', () => {
    const a = set('k', 'a', 0, 10);
    const b = set('k', 'b', 5, 6);
    expect(findLostWrites([a, b], { '1': { k: 'a' } }).lost).toEqual([]);
    expect(findLostWrites([a, b], { '1': { k: 'b' } }).lost).toEqual([]);
  });

  it('counts a refused compare-and-set as no write', () => {
    const c = op({
      kind: 'cas',
      key: 'k',
      expected: 'q',
      value: 'c',
      invokeMs: 0,
      completeMs: 1,
      result: { applied: false, value: null },
    });
    const r = findLostWrites([c], { '1': { k: 'c' } });
    expect(r.lost).toEqual([]);
    expect(r.unexplained).toEqual([{ key: 'k', node: '1', value: 'c' }]);
  });
});

describe('appends (exactly-once sessions)', () => {
  const append = (value: string, invokeMs: number, completeMs: number | null, after: string | null) =>
    op({
      kind: 'append',
      key: 'a.0',
      value,
      invokeMs,
      completeMs,
      ...(completeMs === null ? { outcome: 'unknown' as const } : { result: { value: after } }),
    });

  it('passes appends applied once each, an unknown one included', () => {
    const ops = [
      append('0.1;', 0, 1, '0.1;'),
      append('1.2;', 2, 3, '0.1;1.2;'),
      append('0.3;', 4, null, null),
    ];
    const final = { '1': { 'a.0': '0.1;1.2;0.3;' }, '2': { 'a.0': '0.1;1.2;0.3;' } };
    const v = computeVerdict({ ...base, ops: [...ops, ...padding()], final, maxUnknownShare: 0.05 });
    expect(v.reasons).toEqual([]);
    expect(v.acknowledgedWrites).toBe(2);
  });

  it('fails an append applied twice (a retry without a working session) and a lost append', () => {
    const twice = [append('0.1;', 0, 1, '0.1;'), append('1.2;', 2, 3, '0.1;1.2;')];
    const v = computeVerdict({
      ...base,
      ops: [...twice, ...padding()],
      final: { '1': { 'a.0': '0.1;1.2;1.2;' } },
    });
    expect(v.pass).toBe(false);
    expect(v.history).toBe('NOT linearizable');
    expect(v.unexplained).toEqual([{ key: 'a.0', node: '1', value: '0.1;1.2;1.2;' }]);

    const lost = findLostWrites(twice, { '1': { 'a.0': '0.1;' } });
    expect(lost.lost.map((w) => w.value)).toEqual(['1.2;']);
  });
});
