import { describe, expect, it } from 'vitest';
import { AsyncQueue } from './async-queue.ts';

describe('AsyncQueue', () => {
  it('delivers in order, then ends or fails after the queued items', async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.push(2);
    q.end();
    q.push(3);
    const got: number[] = [];
    for await (const x of q) got.push(x);
    expect(got).toEqual([1, 2]);

    const f = new AsyncQueue<number>();
    const it = f[Symbol.asyncIterator]();
    const pending = it.next();
    f.push(7);
    await expect(pending).resolves.toEqual({ value: 7, done: false });
    f.fail(new Error('x'));
    await expect(it.next()).rejects.toThrow('x');
    await expect(it.next()).rejects.toThrow('x');
  });

  it('reports a cancelled consumer and drops later pushes', async () => {
    const q = new AsyncQueue<number>();
    let cancelled = 0;
    q.onCancel = () => cancelled++;
    q.push(1);
    for await (const _ of q) break;
    expect(cancelled).toBe(1);
    expect(q.closed).toBe(true);
    q.push(2);
    expect(q.size).toBe(0);
  });

  it('failNow drops what is queued and fails at once; peek and take read the head', async () => {
    const q = new AsyncQueue<string>();
    q.push('a');
    q.push('b');
    expect(q.peek()).toBe('a');
    expect(q.take()).toBe('a');
    expect(() => new AsyncQueue<string>().take()).toThrow(/nothing is queued/);
    q.end();
    q.failNow(new Error('aborted'));
    await expect(q.next()).rejects.toThrow('aborted');
    // Once closed and drained, a second failNow changes nothing.
    q.failNow(new Error('other'));
    await expect(q.next()).rejects.toThrow('aborted');
  });

  it('calls onPull after each item taken, so a producer can resume', async () => {
    const q = new AsyncQueue<number>();
    let pulls = 0;
    q.onPull = () => pulls++;
    q.push(1);
    const waiting = (async () => {
      await q.next();
      return q.next();
    })();
    q.push(2);
    await expect(waiting).resolves.toEqual({ value: 2, done: false });
    expect(pulls).toBe(2);
  });
});
