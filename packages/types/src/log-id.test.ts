import { describe, expect, it } from 'vitest';
import { compareLogId, formatLogId, indexOf, logIdEquals, maxLogId, minLogId, nextIndex } from './log-id.ts';

describe('LogId ordering', () => {
  it('orders null below every log id', () => {
    expect(compareLogId(null, null)).toBe(0);
    expect(compareLogId(null, { term: 0, index: 0 })).toBe(-1);
    expect(compareLogId({ term: 0, index: 0 }, null)).toBe(1);
  });
  it('orders by term first, then index', () => {
    expect(compareLogId({ term: 1, index: 9 }, { term: 2, index: 0 })).toBe(-1);
    expect(compareLogId({ term: 2, index: 3 }, { term: 2, index: 4 })).toBe(-1);
    expect(compareLogId({ term: 2, index: 4 }, { term: 2, index: 4 })).toBe(0);
    expect(compareLogId({ term: 3, index: 0 }, { term: 2, index: 4 })).toBe(1);
  });
  it('has equality, max and min that agree with the order', () => {
    const a = { term: 1, index: 2 };
    const b = { term: 2, index: 1 };
    expect(logIdEquals(a, { term: 1, index: 2 })).toBe(true);
    expect(logIdEquals(a, b)).toBe(false);
    expect(logIdEquals(null, null)).toBe(true);
    expect(maxLogId(a, b)).toBe(b);
    expect(minLogId(a, b)).toBe(a);
    expect(maxLogId(null, a)).toBe(a);
    expect(minLogId(null, a)).toBe(null);
  });
  it('computes next index and formats', () => {
    expect(nextIndex(null)).toBe(0);
    expect(nextIndex({ term: 4, index: 7 })).toBe(8);
    expect(indexOf(null)).toBe(-1);
    expect(indexOf({ term: 4, index: 7 })).toBe(7);
    expect(formatLogId(null)).toBe('-');
    expect(formatLogId({ term: 4, index: 7 })).toBe('4-7');
  });
});
