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
});
