import { describe, expect, it } from 'vitest';
import { checkLinearizability } from './check.ts';
import { type KvInput, type KvOutput, type KvState, kvModel } from './kv.ts';
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
  const st = (value: string): KvState => {
    // Build the state the way the model does, by appending one character at a time.
    let s = m.init();
    for (const c of value) s = m.step(s, { kind: 'append', key: 'k', value: c }, {})[1];
    return s;
  };

  it('gets "" for a missing key, puts and appends', () => {
    expect(m.init().value).toBe('');
    expect(m.step(st(''), { kind: 'get', key: 'k' }, { value: '' })[0]).toBe(true);
    expect(m.step(st(''), { kind: 'get', key: 'k' }, {})[0]).toBe(true);
    expect(m.step(st('a'), { kind: 'get', key: 'k' }, { value: 'b' })[0]).toBe(false);
    expect(m.step(st('a'), { kind: 'get', key: 'k' }, UNKNOWN)).toEqual([true, st('a')]);
    expect(m.step(st('a'), { kind: 'put', key: 'k', value: 'b' }, {})).toEqual([true, st('b')]);
    expect(m.step(st('a'), { kind: 'append', key: 'k', value: 'bc' }, {})).toEqual([true, st('abc')]);
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

  it('reports the smallest illegal part when several are illegal', () => {
    const stale = (key: string, t: number) => [
      op({ kind: 'put', key, value: '1' }, {}, t, t + 1),
      op({ kind: 'get', key }, { value: '' }, t + 2, t + 3),
    ];
    const big = [...stale('big', 0), op({ kind: 'put', key: 'big', value: '2' }, {}, 10, 11)];
    const v = checkLinearizability(m, [...big, ...stale('small', 20)]);
    expect(v.violation?.partName).toBe('key "small"');
  });

  it('lets an append with an unknown outcome land late, or never, but only once', () => {
    const lost = {
      ...op({ kind: 'append', key: 'k', value: 'b' }, {}, 0, 1),
      output: UNKNOWN as typeof UNKNOWN,
    };
    const get = (value: string, call: number) => op({ kind: 'get', key: 'k' }, { value }, call, call + 1);
    const put = op({ kind: 'put', key: 'k', value: 'a' }, {}, 2, 3);
    expect(checkLinearizability(m, [lost, put, get('a', 4), get('ab', 6)]).result).toBe('ok');
    expect(checkLinearizability(m, [lost, put, get('a', 4)]).result).toBe('ok');
    expect(checkLinearizability(m, [lost, put, get('ab', 4), get('abb', 6)]).result).toBe('illegal');
  });

  it('hashes consistently with equality, however the value was built', () => {
    const put = m.step(st('zz'), { kind: 'put', key: 'k', value: 'x 1 yx 2 y' }, {})[1];
    const appended = m.step(st('x 1 y'), { kind: 'append', key: 'k', value: 'x 2 y' }, {})[1];
    expect(m.equal(put, appended)).toBe(true);
    expect(m.hash?.(put)).toBe(m.hash?.(appended));
    expect(m.equal(st('ab'), st('ba'))).toBe(false);
    expect(m.hash?.(st('ab'))).not.toBe(m.hash?.(st('ba')));
    expect(m.hash?.(st(''))).toBe(m.hash?.(m.step(st('q'), { kind: 'put', key: 'k', value: '' }, {})[1]));
  });

  it('describes operations', () => {
    expect(m.describe({ kind: 'get', key: 'k' }, { value: 'v' })).toBe('get("k") → "v"');
    expect(m.describe({ kind: 'put', key: 'k', value: 'v' }, {})).toBe('put("k", "v")');
    expect(m.describe({ kind: 'append', key: 'k', value: 'v' }, UNKNOWN)).toBe('append("k", "v") ?');
    expect(m.describeState?.(st('v'))).toBe('"v"');
  });
});
