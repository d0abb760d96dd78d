import { describe, expect, it } from 'vitest';
import { Callbacks } from './callbacks.ts';

describe('Callbacks', () => {
  it('drains in registration order, skipping removed ones, each once', () => {
    const c = new Callbacks<number>();
    const got: string[] = [];
    const fs = ['a', 'b', 'c', 'd'].map((t) => (v: number) => got.push(`${t}${v}`));
    for (const f of fs) c.add(f);
    expect(c.remove(fs[1]!)).toBe(true);
    expect(c.remove(fs[1]!)).toBe(false);
    expect(c.size).toBe(3);
    c.drain(1);
    c.drain(2);
    expect(got).toEqual(['a1', 'c1', 'd1']);
    expect(c.size).toBe(0);
  });

  it('survives heavy churn in the middle without losing or repeating a callback', () => {
    const c = new Callbacks<void>();
    const calls = new Map<number, number>();
    const fns = Array.from({ length: 200 }, (_, i) => () => calls.set(i, (calls.get(i) ?? 0) + 1));
    for (const f of fns) c.add(f);
    for (let i = 0; i < 200; i += 2) c.remove(fns[i]!);
    for (let round = 0; round < 100; round++) {
      const extra = () => calls.set(-1, (calls.get(-1) ?? 0) + 1);
      c.add(extra);
      c.remove(extra);
    }
    expect(c.size).toBe(100);
    c.drain(undefined);
    expect([...calls.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i + 1));
    expect([...calls.values()].every((n) => n === 1)).toBe(true);
  });

  it('a callback added twice runs twice; removing one registration leaves the other', () => {
    const c = new Callbacks<void>();
    let n = 0;
    const f = () => n++;
    c.add(f);
    c.add(f);
    c.remove(f);
    c.drain(undefined);
    expect(n).toBe(1);
  });
});

describe('Callbacks reuse', () => {
  it('keeps order and once-only calls when callbacks register again during a drain', () => {
    const c = new Callbacks<number>();
    const got: string[] = [];
    c.add((v) => {
      got.push(`a${v}`);
      c.add((w) => got.push(`again${w}`));
    });
    c.add((v) => got.push(`b${v}`));
    c.drain(1);
    expect(c.size).toBe(1);
    c.add((v) => {
      got.push(`c${v}`);
      c.add((w) => got.push(`e${w}`));
      c.drain(-1); // nested: only what was added since this drain began
    });
    c.add((v) => got.push(`d${v}`));
    c.drain(2);
    c.drain(3);
    expect(got).toEqual(['a1', 'b1', 'again2', 'c2', 'e-1', 'd2']);
    expect(c.size).toBe(0);
    for (let round = 0; round < 3; round++) {
      const f = () => got.push(`f${round}`);
      c.add(f);
      c.add(() => got.push(`g${round}`));
      expect(c.remove(f)).toBe(true);
      c.drain(0);
    }
    expect(got.slice(6)).toEqual(['g0', 'g1', 'g2']);
  });
});
