import { ErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { msgpackCodec } from './codec.ts';
import { MAX_DATA_DEPTH } from './plain-data.ts';

const codec = msgpackCodec<unknown>();

/** The refusal of `value` by the default codec: its code, path and message. */
function refusal(value: unknown): { code: string; path: string; message: string } {
  try {
    codec.encode(value);
  } catch (e) {
    const { code, path, message } = e as { code: string; path: string; message: string };
    return { code, path, message };
  }
  throw new Error('accepted');
}

class Point {
  x = 1;
  norm(): number {
    return this.x;
  }
}

describe('msgpackCodec refuses what does not round-trip, naming its path', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['a function', { items: [0, 1, 2, { fn: () => 1 }] }, 'data.items[3].fn', /a function is not data/],
    ['a function as the value', () => 1, 'data', /a function/],
    ['a symbol', { s: Symbol('s') }, 'data.s', /a symbol/],
    ['a BigInt', { n: 1n }, 'data.n', /BigInt/],
    ['NaN', { n: Number.NaN }, 'data.n', /NaN is not a finite number/],
    ['Infinity', [Number.POSITIVE_INFINITY], 'data[0]', /Infinity is not a finite number/],
    ['-Infinity', { a: { b: Number.NEGATIVE_INFINITY } }, 'data.a.b', /-Infinity/],
    ['undefined as the value', undefined, 'data', /undefined is not a value/],
    ['undefined in an array', { list: [1, undefined] }, 'data.list[1]', /undefined in an array/],
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    ['a hole in an array', [1, , 3], 'data[1]', /a hole in a sparse array/],
    ['a Map', { m: new Map([['a', 1]]) }, 'data.m', /a Map reads back as a plain object/],
    ['a Set', { 'odd key': new Set([1]) }, 'data["odd key"]', /a Set reads back as an array/],
    ['a class instance', { p: new Point() }, 'data.p', /an instance of Point reads back as a plain object/],
    ['a boxed string', { s: new String('s') }, 'data.s', /an instance of String/],
    ['a RegExp', [/x/], 'data[0]', /an instance of RegExp/],
    ['an Error', { e: new Error('x') }, 'data.e', /an instance of Error/],
    ['a Float64Array', { f: new Float64Array([1.5]) }, 'data.f', /a Float64Array reads back as a Uint8Array/],
    ['a Uint8ClampedArray', { f: new Uint8ClampedArray(1) }, 'data.f', /Uint8ClampedArray/],
    ['an ArrayBuffer', { b: new ArrayBuffer(2) }, 'data.b', /an? ArrayBuffer reads back as a Uint8Array/],
    ['a DataView', { b: new DataView(new ArrayBuffer(2)) }, 'data.b', /DataView/],
    ['an invalid Date', { d: new Date(Number.NaN) }, 'data.d', /an invalid Date/],
    ['a lone surrogate', { s: 'a\ud800' }, 'data.s', /unpaired surrogate/],
    ['a key with a lone surrogate', { '\udc00': 1 }, 'data["\\udc00"]', /key with an unpaired surrogate/],
    ['the key __proto__', JSON.parse('{"a":{"__proto__":1}}'), 'data.a.__proto__', /renamed/],
  ];
  for (const [what, value, path, message] of cases) {
    it(`${what} at ${path}`, () => {
      const r = refusal(value);
      expect(r.code).toBe(ErrorCode.InvalidRequest);
      expect(r.path).toBe(path);
      expect(r.message).toMatch(message);
      expect(r.message).toContain(`invalid request at ${path}: `);
    });
  }

  it('a circular reference, with a shortened path', () => {
    const loop: Record<string, unknown> = { key: 'x' };
    loop.self = loop;
    const r = refusal({ a: loop });
    expect(r.code).toBe(ErrorCode.InvalidRequest);
    expect(r.message).toMatch(/nested more than 512 levels deep \(a circular reference\?\)/);
    expect(r.path).toMatch(/^data\.a(\.self){11}…\(\d+ more\)…(\.self){12}$/);
  });

  it('nesting up to the limit is accepted, one level more is not', () => {
    let ok: unknown = 1;
    for (let i = 0; i < MAX_DATA_DEPTH; i++) ok = [ok];
    expect(codec.decode(codec.encode(ok))).toEqual(ok);
    expect(refusal([ok]).code).toBe(ErrorCode.InvalidRequest);
  });

  it('the next encode after a refusal starts from a clean path', () => {
    refusal({ a: { b: [() => 1] } });
    expect(refusal({ c: Symbol() }).path).toBe('data.c');
  });
});

describe('msgpackCodec accepts plain data and reads it back as written', () => {
  it('null, booleans, finite numbers, strings, dates, arrays and plain objects', () => {
    const values: unknown[] = [
      null,
      true,
      0,
      -1.5,
      2 ** 60,
      Number.MAX_SAFE_INTEGER,
      '',
      'héllo 👋',
      new Date(1_700_000_000_123),
      [],
      [1, 'a', [null, { b: false }]],
      { set: 'k', value: { n: 1, tags: ['x'], at: new Date(5) } },
      Object.assign(Object.create(null) as object, { a: 1 }),
    ];
    for (const v of values) {
      const back = codec.decode(codec.encode(v));
      expect(back).toEqual(v);
      expect(Object.prototype.toString.call(back)).toBe(Object.prototype.toString.call(v));
    }
  });

  it('bytes: a Uint8Array or a Buffer reads back as a byte array with the same bytes', () => {
    for (const bytes of [new Uint8Array([1, 2, 3]), Buffer.from([1, 2, 3])]) {
      const back = codec.decode(codec.encode({ bytes })) as { bytes: unknown };
      expect(back.bytes).toBeInstanceOf(Uint8Array);
      expect(Array.from(back.bytes as Uint8Array)).toEqual([1, 2, 3]);
    }
  });

  it('undefined object properties read back as undefined', () => {
    const back = codec.decode(codec.encode({ a: 1, b: undefined })) as Record<string, unknown>;
    expect(back.b).toBeUndefined();
    expect(back.a).toBe(1);
  });
});
