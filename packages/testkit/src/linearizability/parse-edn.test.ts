import { ErrorCode, hasErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { parseEdnMap, parseKvEdnHistory } from './parse-edn.ts';
import { UNKNOWN } from './types.ts';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return hasErrorCode(err) ? err.code : 'not a flotilla error';
  }
  return undefined;
};

describe('parseEdnMap', () => {
  it('reads keywords, strings with escapes, integers, nil and booleans', () => {
    const m = parseEdnMap('{:a 1, :b "x \\"q\\" \\\\ \\n", :c nil, :d :kw, :e true, :f -3}', 'here');
    expect(Object.fromEntries(m)).toEqual({
      a: 1,
      b: 'x "q" \\ \n',
      c: null,
      d: { keyword: 'kw' },
      e: true,
      f: -3,
    });
  });

  it('rejects what it cannot read with INVALID_REQUEST', () => {
    for (const bad of ['', '[1]', '{:a 1', '{:a "x}', '{a 1}', '{:a 1} x', '{:a [1]}', '{:a "\\']) {
      expect(
        codeOf(() => parseEdnMap(bad, 'line 1')),
        bad,
      ).toBe(ErrorCode.InvalidRequest);
    }
  });
});

describe('parseKvEdnHistory', () => {
  it('pairs calls with completions; fail drops, info and pending become unknown', () => {
    const text = [
      '{:process 0, :type :invoke, :f :put, :key "k", :value "v"}',
      '{:process 1, :type :invoke, :f :get, :key "k", :value nil}',
      '{:process 0, :type :ok, :f :put, :key "k", :value "v"}',
      '{:process 1, :type :ok, :f :get, :key "k", :value nil}',
      '',
      '{:process 2, :type :invoke, :f :append, :key "j", :value "w"}',
      '{:process 2, :type :fail, :f :append, :key "j", :value "w"}',
      '{:process 3, :type :invoke, :f :append, :key "j", :value "z"}',
      '{:process 3, :type :info, :f :append, :key "j", :value "z"}',
      '{:process 4, :type :invoke, :f :get, :key "j", :value nil}',
    ].join('\n');
    expect(parseKvEdnHistory(text)).toEqual([
      { clientId: 0, input: { kind: 'put', key: 'k', value: 'v' }, output: {}, call: 1, return: 3 },
      { clientId: 1, input: { kind: 'get', key: 'k' }, output: { value: '' }, call: 2, return: 4 },
      {
        clientId: 3,
        input: { kind: 'append', key: 'j', value: 'z' },
        output: UNKNOWN,
        call: 8,
        return: Number.POSITIVE_INFINITY,
      },
      {
        clientId: 4,
        input: { kind: 'get', key: 'j' },
        output: UNKNOWN,
        call: 10,
        return: Number.POSITIVE_INFINITY,
      },
    ]);
  });

  it('rejects malformed or inconsistent lines with INVALID_REQUEST', () => {
    const inv = '{:process 0, :type :invoke, :f :put, :key "k", :value "v"}';
    const bad = [
      '{:process "0", :type :invoke, :f :get, :key "k"}',
      '{:process 0, :type :invoke, :f :cas, :key "k"}',
      '{:process 0, :type :invoke, :f :get, :key 1}',
      '{:process 0, :type :invoke, :f :put, :key "k"}',
      '{:process 0, :type :ok, :f :put, :key "k", :value "v"}',
      `${inv}\n${inv}`,
      `${inv}\n{:process 0, :type :ok, :f :put, :key "other", :value "v"}`,
      `${inv}\n{:process 0, :type :done, :f :put, :key "k", :value "v"}`,
      '{:process 0, :type :invoke, :f :get, :key "k"}\n{:process 0, :type :ok, :f :get, :key "k", :value 3}',
    ];
    for (const text of bad)
      expect(
        codeOf(() => parseKvEdnHistory(text)),
        text,
      ).toBe(ErrorCode.InvalidRequest);
  });
});
