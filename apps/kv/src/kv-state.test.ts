import { ErrorCode, hasErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { KvState, MAX_KEY_LENGTH, parseKvRequest } from './kv-state.ts';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return hasErrorCode(e) ? `${e.code} ${(e as { path?: string }).path}` : 'not a flotilla error';
  }
  return undefined;
}

describe('parseKvRequest', () => {
  it('accepts the openraft Set shape and the Delete and Cas extensions, dropping unknown fields', () => {
    expect(parseKvRequest({ Set: { key: 'foo', value: 'bar', extra: 1 } })).toEqual({
      Set: { key: 'foo', value: 'bar' },
    });
    expect(parseKvRequest({ Delete: { key: 'foo' } })).toEqual({ Delete: { key: 'foo' } });
    expect(parseKvRequest({ Cas: { key: 'k', expected: null, value: 'v' } })).toEqual({
      Cas: { key: 'k', expected: null, value: 'v' },
    });
  });

  it('refuses wrong shapes with INVALID_REQUEST naming the path', () => {
    const bad = ErrorCode.InvalidRequest;
    expect(codeOf(() => parseKvRequest('foo'))).toBe(`${bad} $`);
    expect(codeOf(() => parseKvRequest([]))).toBe(`${bad} $`);
    expect(codeOf(() => parseKvRequest({}))).toBe(`${bad} $`);
    expect(codeOf(() => parseKvRequest({ Set: {}, Delete: {} }))).toBe(`${bad} $`);
    expect(codeOf(() => parseKvRequest({ Put: { key: 'a' } }))).toBe(`${bad} $`);
    expect(codeOf(() => parseKvRequest({ Set: 'x' }))).toBe(`${bad} $.Set`);
    expect(codeOf(() => parseKvRequest({ Set: { key: 1, value: 'v' } }))).toBe(`${bad} $.Set.key`);
    expect(codeOf(() => parseKvRequest({ Set: { key: 'k' } }))).toBe(`${bad} $.Set.value`);
    expect(codeOf(() => parseKvRequest({ Cas: { key: 'k', value: 'v' } }))).toBe(`${bad} $.Cas.expected`);
    expect(codeOf(() => parseKvRequest({ Delete: { key: 'k'.repeat(MAX_KEY_LENGTH + 1) } }))).toBe(
      `${bad} $.Delete.key`,
    );
  });
});

describe('KvState', () => {
  it('sets, deletes and answers like openraft Response {value}', () => {
    const s = new KvState();
    expect(s.apply({ Set: { key: 'a', value: '1' } })).toEqual({ value: '1', applied: true });
    expect(s.get('a')).toBe('1');
    expect(s.apply({ Delete: { key: 'a' } })).toEqual({ value: '1', applied: true });
    expect(s.apply({ Delete: { key: 'a' } })).toEqual({ value: null, applied: false });
    expect(s.get('a')).toBeUndefined();
    expect(s.size).toBe(0);
  });

  it('compare-and-set applies only on a match and reports the current value otherwise', () => {
    const s = new KvState();
    expect(s.apply({ Cas: { key: 'k', expected: 'x', value: 'y' } })).toEqual({
      value: null,
      applied: false,
    });
    expect(s.apply({ Cas: { key: 'k', expected: null, value: 'v1' } })).toEqual({
      value: 'v1',
      applied: true,
    });
    expect(s.apply({ Cas: { key: 'k', expected: null, value: 'v2' } })).toEqual({
      value: 'v1',
      applied: false,
    });
    expect(s.apply({ Cas: { key: 'k', expected: 'v1', value: 'v2' } })).toEqual({
      value: 'v2',
      applied: true,
    });
    expect(s.get('k')).toBe('v2');
  });

  it('keys such as __proto__ are ordinary keys', () => {
    const s = new KvState();
    s.apply({ Set: { key: '__proto__', value: 'p' } });
    expect(new KvState(s.entries()).get('__proto__')).toBe('p');
  });
});
