import { describe, expect, it } from 'vitest';
import { copyMessage } from './copy.ts';

describe('copyMessage', () => {
  it('copies plain data deeply, every byte array included', () => {
    const data = new Uint8Array([1, 2, 3]);
    const msg = {
      vote: { term: 2, nodeId: 'a', committed: true },
      prevLogId: null,
      entries: [{ logId: { term: 2, index: 1 }, payload: { type: 'normal', data, session: undefined } }],
      leaderCommit: { term: 1, index: 0 },
    };
    const out = copyMessage(msg);
    expect(out).toEqual(msg);
    expect(out).not.toBe(msg);
    expect(out.entries[0]).not.toBe(msg.entries[0]);
    const copied = out.entries[0]?.payload.data as Uint8Array;
    expect(copied).not.toBe(data);
    data[0] = 9;
    expect(copied[0]).toBe(1);
    expect(Object.hasOwn(out.entries[0]?.payload ?? {}, 'session')).toBe(true);
  });

  it('copies a Buffer as a plain Uint8Array of its own bytes, like structuredClone', () => {
    const buf = Buffer.from([5, 6, 7, 8]).subarray(1, 3);
    const out = copyMessage({ data: buf });
    expect(Object.getPrototypeOf(out.data)).toBe(Uint8Array.prototype);
    expect([...out.data]).toEqual([6, 7]);
    buf[0] = 0;
    expect([...out.data]).toEqual([6, 7]);
  });

  it('never lets a later copy change the bytes of an earlier one', () => {
    const copies = Array.from({ length: 5000 }, (_, i) =>
      copyMessage({ data: new Uint8Array(100).fill(i % 251) }),
    );
    copies.push(copyMessage({ data: new Uint8Array(10_000).fill(3) }));
    copies.forEach((c, i) => {
      const want = i < 5000 ? i % 251 : 3;
      expect(c.data.every((b) => b === want)).toBe(true);
    });
  });

  it('hands what is not plain data to structuredClone: copied alike, or refused', () => {
    const when = new Date(5);
    const out = copyMessage({ when, tags: new Set(['x']) });
    expect(out.when).toEqual(when);
    expect(out.when).not.toBe(when);
    expect(out.tags).toEqual(new Set(['x']));
    expect(() => copyMessage({ f: () => 1 })).toThrow();
  });

  it('survives a cycle (structuredClone takes over past the depth limit)', () => {
    const a: Record<string, unknown> = { n: 1 };
    a.self = a;
    const out = copyMessage(a);
    expect(out.n).toBe(1);
  });
  it('copies entries of the common shape whole and leaves other shapes to the generic walk', () => {
    const data = new Uint8Array([1, 2, 3]);
    const entries = [
      { logId: { term: 2, index: 7 }, payload: { type: 'normal', data } },
      {
        logId: { term: 2, index: 8 },
        payload: { type: 'normal', data, session: { clientId: 'c', sequence: 1 } },
      },
      { logId: { term: 2, index: 9 }, payload: { type: 'normal', data }, extra: 'x' },
      { logId: { term: 2, index: 10 }, payload: { type: 'blank' } },
      { logId: { term: 2, index: 11, more: 1 }, payload: { type: 'normal', data } },
    ];
    const out = copyMessage({ entries });
    expect(out).toEqual({ entries });
    for (const [i, e] of out.entries.entries()) {
      expect(e).not.toBe(entries[i]);
      expect(e.logId).not.toBe(entries[i]?.logId);
      expect(e.payload).not.toBe(entries[i]?.payload);
    }
    const first = out.entries[0]?.payload as { data: Uint8Array };
    expect(first.data).not.toBe(data);
    expect(first.data.constructor).toBe(Uint8Array);
    data[0] = 9;
    expect([...first.data]).toEqual([1, 2, 3]);
  });
});
