import { describe, expect, it } from 'vitest';
import { checkLinearizability } from './check.ts';
import { type KvInput, type KvOutput, kvModel } from './kv.ts';
import type { Operation } from './types.ts';
import { UNKNOWN } from './types.ts';

const m = kvModel();

const op = (input: KvInput, output: KvOutput, call: number, ret: number): Operation<KvInput, KvOutput> => ({
  clientId: call,
  input,
  output,
  call,
  return: ret,
});

describe('kvModel', () => {
  it('gets "" for a missing key, puts and appends', () => {
    expect(m.init()).toBe('');
    expect(m.step('', { kind: 'get', key: 'k' }, { value: '' })).toEqual([true, '']);
    expect(m.step('', { kind: 'get', key: 'k' }, {})).toEqual([true, '']);
    expect(m.step('a', { kind: 'get', key: 'k' }, { value: 'b' })[0]).toBe(false);
    expect(m.step('a', { kind: 'get', key: 'k' }, UNKNOWN)).toEqual([true, 'a']);
    expect(m.step('a', { kind: 'put', key: 'k', value: 'b' }, {})).toEqual([true, 'b']);
    expect(m.step('a', { kind: 'append', key: 'k', value: 'b' }, {})).toEqual([true, 'ab']);
  });

  it('partitions a history per key, keeping every operation once', () => {
    const h = [
      op({ kind: 'put', key: 'a', value: '1' }, {}, 0, 1),
      op({ kind: 'put', key: 'b', value: '2' }, {}, 2, 3),
      op({ kind: 'get', key: 'a' }, { value: '1' }, 4, 5),
    ];
    const parts = m.partition?.(h) ?? [];
    expect(parts).toEqual([[h[0], h[2]], [h[1]]]);
    expect(parts.map((p) => m.describePartition?.(p))).toEqual(['key "a"', 'key "b"']);
  });

  it('names the key of the illegal part', () => {
    const h = [
      op({ kind: 'put', key: 'a', value: '1' }, {}, 0, 1),
      op({ kind: 'put', key: 'b', value: '2' }, {}, 0, 1),
      op({ kind: 'get', key: 'b' }, { value: '1' }, 4, 5),
      op({ kind: 'get', key: 'a' }, { value: '1' }, 4, 5),
    ];
    const v = checkLinearizability(m, h);
    expect(v.result).toBe('illegal');
    expect(v.violation?.partName).toBe('key "b"');
    expect(v.explanation?.split('\n')[0]).toBe('not linearizable: key "b" (part 2 of 2)');
  });

  it('hashes consistently with equality', () => {
    const hash = m.hash as (s: string) => number;
    expect(hash('x 1 y' + 'x 2 y')).toBe(hash('x 1 yx 2 y'));
    expect(hash('ab')).not.toBe(hash('ba'));
  });

  it('describes operations', () => {
    expect(m.describe({ kind: 'get', key: 'k' }, { value: 'v' })).toBe('get("k") → "v"');
    expect(m.describe({ kind: 'put', key: 'k', value: 'v' }, {})).toBe('put("k", "v")');
    expect(m.describe({ kind: 'append', key: 'k', value: 'v' }, UNKNOWN)).toBe('append("k", "v") ?');
    expect(m.describeState?.('v')).toBe('"v"');
  });
});
