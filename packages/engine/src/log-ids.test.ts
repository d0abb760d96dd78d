import { describe, expect, it } from 'vitest';
import { lid } from '../test/fixtures.ts';
import { LogIdList } from './log-ids.ts';

describe('LogIdList', () => {
  it('answers log ids by index across terms', () => {
    const l = LogIdList.of(null, [lid(1, 0), lid(1, 1), lid(3, 2), lid(3, 5)]);
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => l.logIdAt(i))).toEqual([
      lid(1, 0),
      lid(1, 1),
      lid(3, 2),
      lid(3, 3),
      lid(3, 4),
      lid(3, 5),
      null,
    ]);
    expect(l.keys()).toEqual([lid(1, 0), lid(3, 2)]);
    expect(l.contains(lid(3, 4))).toBe(true);
    expect(l.contains(lid(2, 4))).toBe(false);
  });

  it('truncates back to the previous term and to empty', () => {
    const l = LogIdList.of(null, [lid(1, 0), lid(2, 3), lid(2, 4)]);
    l.truncate(3);
    expect(l.last()).toEqual(lid(1, 2));
    expect(l.keys()).toEqual([lid(1, 0)]);
    l.truncate(0);
    expect(l.last()).toBeNull();
  });

  it('purges inside a term, to the end, and beyond the end', () => {
    const l = LogIdList.of(null, [lid(1, 0), lid(2, 3), lid(2, 6)]);
    l.purge(lid(2, 4));
    expect([l.purged(), l.last(), l.logIdAt(3), l.logIdAt(4), l.logIdAt(5)]).toEqual([
      lid(2, 4),
      lid(2, 6),
      null,
      lid(2, 4),
      lid(2, 5),
    ]);
    l.purge(lid(5, 9));
    expect([l.purged(), l.last(), l.logIdAt(9), l.logIdAt(8)]).toEqual([
      lid(5, 9),
      lid(5, 9),
      lid(5, 9),
      null,
    ]);
    l.append(lid(6, 10));
    expect(l.logIdAt(10)).toEqual(lid(6, 10));
  });

  it('refuses appends that leave a hole or go back in term, and truncation into the purged range', () => {
    const l = LogIdList.of(lid(1, 2), [lid(2, 5)]);
    expect(() => l.append(lid(2, 7))).toThrow(/does not follow/);
    expect(() => l.append(lid(1, 6))).toThrow(/back in term/);
    expect(() => l.truncate(2)).toThrow(/purged/);
  });
});
