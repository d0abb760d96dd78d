import { describe, expect, it } from 'vitest';
import { assertUniqueNames, type ConformanceCase, failedCases, runCases } from './case.ts';

describe('conformance cases', () => {
  it('runCases reports each outcome in order without throwing', async () => {
    const ran: string[] = [];
    const cases: ConformanceCase[] = [
      { name: 'ok', run: async () => void ran.push('ok') },
      {
        name: 'bad',
        run: async () => {
          ran.push('bad');
          throw new Error('nope');
        },
      },
      {
        name: 'nullish',
        run: async () => {
          ran.push('nullish');
          throw undefined;
        },
      },
    ];
    const results = await runCases(cases);
    expect(ran).toEqual(['ok', 'bad', 'nullish']);
    expect(results.map((r) => [r.name, r.error === null])).toEqual([
      ['ok', true],
      ['bad', false],
      ['nullish', false],
    ]);
    expect(failedCases(results)).toEqual(['bad', 'nullish']);
  });

  it('assertUniqueNames refuses duplicate names', () => {
    const c = { name: 'x', run: async () => {} };
    expect(assertUniqueNames([c])).toEqual([c]);
    expect(() => assertUniqueNames([c, { ...c }])).toThrow('duplicate conformance case name: x');
  });
});
