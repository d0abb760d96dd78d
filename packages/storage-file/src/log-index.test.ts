import { describe, expect, it } from 'vitest';
import { LogIndex } from './log-index.ts';

describe('LogIndex', () => {
  it('indexes, truncates, purges and reports term ends', () => {
    const ix = new LogIndex(5);
    for (let i = 5; i < 5000; i++) ix.push(i < 100 ? 1 : i < 2000 ? 2 : 4, i * 10, 10 + (i % 7));
    expect([ix.first, ix.next, ix.length]).toEqual([5, 5000, 4995]);
    expect([ix.offsetOf(1234), ix.sizeOf(1234), ix.termOf(99), ix.termOf(100), ix.termOf(4999)]).toEqual([
      12340,
      10 + (1234 % 7),
      1,
      2,
      4,
    ]);
    expect(ix.termEnds(50, 3000)).toEqual([
      { term: 1, index: 99 },
      { term: 2, index: 1999 },
      { term: 4, index: 3000 },
    ]);
    ix.truncate(1500);
    expect(ix.next).toBe(1500);
    expect(ix.termEnds(5, 1499)).toEqual([
      { term: 1, index: 99 },
      { term: 2, index: 1499 },
    ]);
    ix.push(3, 7, 8);
    expect(ix.termOf(1500)).toBe(3);
    ix.purge(1000);
    expect([ix.first, ix.length, ix.termOf(1000), ix.offsetOf(1000)]).toEqual([1000, 501, 2, 10000]);
    expect(ix.termEnds(1000, 1500)).toEqual([
      { term: 2, index: 1499 },
      { term: 3, index: 1500 },
    ]);
    ix.purge(2000); // past the end: empty, continuing at 2000
    expect([ix.first, ix.next, ix.length]).toEqual([2000, 2000, 0]);
    ix.push(5, 16, 20);
    expect([ix.termOf(2000), ix.offsetOf(2000)]).toEqual([5, 16]);
  });

  it('stays compact: at most 16 bytes per entry at any size', () => {
    const ix = new LogIndex(0);
    for (let i = 0; i < 100_000; i++) ix.push(1, i, 1);
    expect(ix.memoryBytes() / ix.length).toBeLessThanOrEqual(16.5);
    // A sliding window (append + purge) does not grow without bound.
    for (let i = 100_000; i < 400_000; i++) {
      ix.push(1, i % 1000, 1);
      if (i % 1000 === 0) ix.purge(i - 50_000);
    }
    expect(ix.memoryBytes()).toBeLessThan(2 * 1024 * 1024);
    expect(ix.offsetOf(399_999)).toBe(999);
  });
});
