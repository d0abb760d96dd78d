import { describe, expect, it } from 'vitest';
import { EntryLocations } from './entry-locations.ts';

describe('EntryLocations', () => {
  it('indexes, truncates, purges and reports term ends', () => {
    const locations = new EntryLocations(5);
    for (let i = 5; i < 5000; i++) locations.push(i < 100 ? 1 : i < 2000 ? 2 : 4, i * 10, 10 + (i % 7));
    expect([locations.first, locations.next, locations.length]).toEqual([5, 5000, 4995]);
    expect([
      locations.offsetOf(1234),
      locations.sizeOf(1234),
      locations.termOf(99),
      locations.termOf(100),
      locations.termOf(4999),
    ]).toEqual([12340, 10 + (1234 % 7), 1, 2, 4]);
    expect(locations.termEnds(50, 3000)).toEqual([
      { term: 1, index: 99 },
      { term: 2, index: 1999 },
      { term: 4, index: 3000 },
    ]);
    locations.truncate(1500);
    expect(locations.next).toBe(1500);
    expect(locations.termEnds(5, 1499)).toEqual([
      { term: 1, index: 99 },
      { term: 2, index: 1499 },
    ]);
    locations.push(3, 7, 8);
    expect(locations.termOf(1500)).toBe(3);
    locations.purge(1000);
    expect([locations.first, locations.length, locations.termOf(1000), locations.offsetOf(1000)]).toEqual([
      1000, 501, 2, 10000,
    ]);
    expect(locations.termEnds(1000, 1500)).toEqual([
      { term: 2, index: 1499 },
      { term: 3, index: 1500 },
    ]);
    locations.purge(2000); // past the end: empty, continuing at 2000
    expect([locations.first, locations.next, locations.length]).toEqual([2000, 2000, 0]);
    locations.push(5, 16, 20);
    expect([locations.termOf(2000), locations.offsetOf(2000)]).toEqual([5, 16]);
  });

  it('stays compact: at most 16 bytes per entry at any size', () => {
    const locations = new EntryLocations(0);
    for (let i = 0; i < 100_000; i++) locations.push(1, i, 1);
    expect(locations.memoryBytes() / locations.length).toBeLessThanOrEqual(16.5);
    // A sliding window (append + purge) does not grow without bound.
    for (let i = 100_000; i < 400_000; i++) {
      locations.push(1, i % 1000, 1);
      if (i % 1000 === 0) locations.purge(i - 50_000);
    }
    expect(locations.memoryBytes()).toBeLessThan(2 * 1024 * 1024);
    expect(locations.offsetOf(399_999)).toBe(999);
  });
});
