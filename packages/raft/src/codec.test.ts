import { describe, expect, it } from 'vitest';
import { msgpackCodec } from './codec.ts';

describe('msgpackCodec', () => {
  it('round-trips plain data across codec instances (no shared structures)', () => {
    const a = msgpackCodec<{ set: string; value: number[]; nested: { ok: boolean } }>();
    const b = msgpackCodec<{ set: string; value: number[]; nested: { ok: boolean } }>();
    const v = { set: 'k', value: [1, 2, 3], nested: { ok: true } };
    for (let i = 0; i < 3; i++) expect(b.decode(a.encode(v))).toEqual(v);
    expect(a.encode(v)).toBeInstanceOf(Uint8Array);
  });
  it('throws on truncated bytes', () => {
    expect(() => msgpackCodec().decode(new Uint8Array([0x92, 0x01]))).toThrow();
  });
  it('decodes a view into a larger buffer from its own range only', () => {
    const c = msgpackCodec<unknown>();
    const values = [{ a: 'x', n: 1 }, new Uint8Array([1, 2, 3]), 'hello', [1, [2]], null];
    const parts = values.map((v) => c.encode(v));
    const whole = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0) + 2);
    const views: Uint8Array[] = [];
    let at = 1;
    for (const p of parts) {
      whole.set(p, at);
      views.push(whole.subarray(at, at + p.byteLength));
      at += p.byteLength;
    }
    for (let round = 0; round < 2; round++) {
      for (const [i, view] of views.entries()) expect(c.decode(view)).toEqual(values[i]);
    }
    // Binary values come back as the kind of byte array a direct read of the view gives.
    const inBuffer = Buffer.from(whole.buffer, 0, whole.byteLength);
    const binAt = views[1] as Uint8Array;
    const bin = c.decode(inBuffer.subarray(binAt.byteOffset, binAt.byteOffset + binAt.byteLength));
    expect(Buffer.isBuffer(bin)).toBe(true);
    expect(Buffer.isBuffer(c.decode(binAt))).toBe(false);
    // Truncated or empty views fail as msgpackr fails on them, never read past their range.
    const first = views[0] as Uint8Array;
    expect(() => c.decode(first.subarray(0, first.byteLength - 1))).toThrow();
    expect(() => c.decode(whole.subarray(3, 3))).toThrow();
  });
});
