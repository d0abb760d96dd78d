import { ErrorCode, NotLeaderError } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import {
  entriesOf,
  expectRejectCode,
  FlushProbe,
  fnv1a,
  seededRandom,
  summarizeBytes,
  within,
} from './fixtures.ts';

describe('fixtures', () => {
  it('seededRandom replays for a seed and stays in [0, 1)', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    const xs = Array.from({ length: 100 }, () => a());
    expect(xs).toEqual(Array.from({ length: 100 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(10)()).not.toBe(xs[0]);
  });

  it('within rejects a promise that does not settle in time', async () => {
    await expect(within(new Promise(() => {}), 10, 'slow')).rejects.toThrow('slow (after 10 ms)');
    expect(await within(Promise.resolve(3), 10, 'fast')).toBe(3);
  });

  it('expectRejectCode accepts the right code only', async () => {
    const err = await expectRejectCode(Promise.reject(new NotLeaderError()), ErrorCode.NotLeader, 'x');
    expect(err).toBeInstanceOf(NotLeaderError);
    await expect(expectRejectCode(Promise.resolve(1), ErrorCode.NotLeader, 'x')).rejects.toThrow(
      'but it resolved',
    );
    await expect(
      expectRejectCode(Promise.reject(new Error('plain')), ErrorCode.NotLeader, 'x'),
    ).rejects.toThrow('expected an error with code NOT_LEADER');
  });

  it('FlushProbe counts calls, orders them and reports errors', async () => {
    const order = { n: 0 };
    const a = new FlushProbe(order);
    const b = new FlushProbe(order);
    b.onFlushed();
    a.onFlushed();
    a.onFlushed();
    await a.flushed();
    expect([a.calls, a.firstCallAt, b.firstCallAt]).toEqual([2, 1, 0]);
    const bad = new FlushProbe();
    bad.onFlushed(new Error('disk gone'));
    await expect(bad.flushed()).rejects.toThrow('reported an error');
    await expect(new FlushProbe().flushed(10)).rejects.toThrow('was not called');
  });

  it('summarizeBytes replaces byte arrays by length and hash', () => {
    const [e] = entriesOf(1, 0, 1);
    const s = summarizeBytes({ list: [e], n: 1, none: null }) as { list: { payload: { data: string } }[] };
    expect(s.list[0]!.payload.data).toBe(`bytes(8:${fnv1a((e!.payload as { data: Uint8Array }).data)})`);
    expect(summarizeBytes(new Uint8Array([1]))).not.toEqual(summarizeBytes(new Uint8Array([2])));
  });
});
