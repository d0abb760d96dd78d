import { describe, expect, it } from 'vitest';
import { BookkeepingCluster } from './bookkeeping.ts';
import { closedLoop, sizeForDuration } from './memory-cluster.ts';

describe('the bookkeeping ceiling', () => {
  it('resolves each write with its index once all three logs hold it, in order', async () => {
    const b = new BookkeepingCluster();
    const order: number[] = [];
    const writes = [1, 2, 3].map((i) => b.write(new Uint8Array([i])).then((idx) => order.push(idx)));
    expect(b.committed).toBe(0); // nothing commits synchronously
    await Promise.all(writes);
    expect(order).toEqual([1, 2, 3]);
    expect(b.committed).toBe(3);
    expect(b.lastIndexes()).toEqual([3, 3, 3]);
  });

  it('keeps only a window of committed entries while indexes keep counting', async () => {
    const b = new BookkeepingCluster();
    await closedLoop(64, 50_000, () => b.write(new Uint8Array(1)));
    expect(b.committed).toBe(50_000);
    expect(b.lastIndexes()).toEqual([50_000, 50_000, 50_000]);
  });
});

describe('closedLoop and sizeForDuration', () => {
  it('spreads the total over the clients, each awaiting one write at a time', async () => {
    const perClient = [0, 0, 0];
    let inFlight = 0;
    let maxInFlight = 0;
    await closedLoop(3, 10, async (c) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      perClient[c] = (perClient[c] ?? 0) + 1;
      await new Promise((r) => setImmediate(r));
      inFlight--;
    });
    expect(perClient).toEqual([4, 3, 3]);
    expect(maxInFlight).toBe(3);
  });

  it('scales a probe to the wanted duration, as a multiple of the client count', async () => {
    // 1 ms per 100 operations: 200 ms wants about 20,000.
    const n = await sizeForDuration((k) => new Promise((r) => setTimeout(r, k / 100)), 200, 64, 64);
    expect(n % 64).toBe(0);
    expect(n).toBeGreaterThan(5_000);
    expect(n).toBeLessThan(30_000);
  });
});
