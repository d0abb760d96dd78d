import { describe, expect, it } from 'vitest';
import { read, write } from '../../test/register-ops.ts';
import { checkLinearizability } from './check.ts';
import { registerModel } from './register.ts';

const model = registerModel();

describe('the explanation of an illegal history', () => {
  it('cuts the history at the first return that cannot be linearized', () => {
    const h = [write(1, 1, 0, 1), read(2, null, 2, 3), write(3, 5, 4, 5), read(4, 5, 6, 7)];
    const v = checkLinearizability(model, h);
    expect(v.violation).toEqual({
      partIndex: 0,
      partCount: 1,
      prefix: [h[0], h[1]],
      culprit: h[1],
      minimal: true,
      longestLinearization: [h[0]],
    });
    expect(v.explanation).toBe(
      [
        'not linearizable: part 1 of 1',
        'smallest failing prefix: 2 operations, up to the return of',
        '  client 2: read → nil  [2, 3]',
        'longest linearization found (1 of 2 operations):',
        '  1. client 1: write(1) ok  [0, 1]  ⇒ 1',
        'with a known outcome, none of these can come next:',
        '  client 2: read → nil  [2, 3]',
      ].join('\n'),
    );
  });

  it('caps each list at maxExplainedOperations, keeping the tail of the linearization', () => {
    const writes = Array.from({ length: 6 }, (_, i) => write(1, i, 2 * i, 2 * i + 1));
    const v = checkLinearizability(model, [...writes, read(2, 0, 20, 21)], { maxExplainedOperations: 2 });
    const lines = v.explanation?.split('\n') ?? [];
    expect(lines.slice(3, 7)).toEqual([
      'longest linearization found (6 of 7 operations):',
      '  … 4 earlier',
      '  5. client 1: write(4) ok  [8, 9]  ⇒ 4',
      '  6. client 1: write(5) ok  [10, 11]  ⇒ 5',
    ]);
  });

  it('shows operations still running at the cut with an unknown output', () => {
    const h = [write(1, 1, 0, 1), read(2, null, 2, 3), read(3, 9, 2, 50)];
    const v = checkLinearizability(model, h);
    expect(v.violation?.prefix).toEqual(h);
    expect(v.explanation).toContain('  2. client 3: read ?  [2, 50]  ⇒ 1');
  });
});
