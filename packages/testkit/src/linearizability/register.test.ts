import { describe, expect, it } from 'vitest';
import { registerModel } from './register.ts';
import { UNKNOWN } from './types.ts';

const m = registerModel();

describe('registerModel', () => {
  it('starts at nil', () => {
    expect(m.init()).toBeNull();
  });

  it('reads the current value only', () => {
    expect(m.step(3, { kind: 'read' }, { ok: true, value: 3 })).toEqual([true, 3]);
    expect(m.step(3, { kind: 'read' }, { ok: true, value: 4 })[0]).toBe(false);
    expect(m.step(null, { kind: 'read' }, { ok: true, value: null })).toEqual([true, null]);
    expect(m.step(null, { kind: 'read' }, { ok: true })).toEqual([true, null]);
  });

  it('accepts failed and unknown reads anywhere', () => {
    expect(m.step(3, { kind: 'read' }, { ok: false })).toEqual([true, 3]);
    expect(m.step(3, { kind: 'read' }, UNKNOWN)).toEqual([true, 3]);
  });

  it('writes, unless the write definitely failed', () => {
    expect(m.step(3, { kind: 'write', value: 5 }, { ok: true })).toEqual([true, 5]);
    expect(m.step(3, { kind: 'write', value: 5 }, UNKNOWN)).toEqual([true, 5]);
    expect(m.step(3, { kind: 'write', value: 5 }, { ok: false })).toEqual([true, 3]);
  });

  it('swaps on a matching cas and refuses a failed cas that would have matched', () => {
    const cas = { kind: 'cas', from: 1, to: 2 } as const;
    expect(m.step(1, cas, { ok: true })).toEqual([true, 2]);
    expect(m.step(0, cas, { ok: true })[0]).toBe(false);
    expect(m.step(0, cas, { ok: false })).toEqual([true, 0]);
    expect(m.step(1, cas, { ok: false })[0]).toBe(false);
    expect(m.step(1, cas, UNKNOWN)).toEqual([true, 2]);
    expect(m.step(0, cas, UNKNOWN)).toEqual([true, 0]);
  });

  it('hashes consistently with equality', () => {
    const hash = m.hash as (s: number | string | null) => number;
    for (const v of [null, 0, 1, -7, 2.5, 'a', 'abc']) expect(hash(v)).toBe(hash(v));
    expect(hash('a')).not.toBe(hash('b'));
    expect(m.equal(1, 1)).toBe(true);
    expect(m.equal(1, '1')).toBe(false);
  });

  it('describes operations and states', () => {
    expect(m.describe({ kind: 'read' }, { ok: true, value: null })).toBe('read → nil');
    expect(m.describe({ kind: 'read' }, { ok: false })).toBe('read failed');
    expect(m.describe({ kind: 'write', value: 'x' }, { ok: true })).toBe('write("x") ok');
    expect(m.describe({ kind: 'cas', from: 1, to: 2 }, { ok: false })).toBe('cas(1→2) failed');
    expect(m.describe({ kind: 'cas', from: 1, to: 2 }, UNKNOWN)).toBe('cas(1→2) ?');
    expect(m.describeState?.(null)).toBe('nil');
  });
});
