import { compareLogId, type LogId } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { type ReadonlyWatch, Watch, waitAny, waitAnyWhen } from './watch.ts';

describe('Watch', () => {
  it('gets, sets and wakes waiters with the new value', async () => {
    const w = new Watch(1);
    const next = w.changed();
    expect(w.set(2)).toBe(true);
    await expect(next).resolves.toBe(2);
    expect(w.get()).toBe(2);
    expect(w.set(2)).toBe(false);
    expect(w.version).toBe(1);
  });

  it('setIfGreater never goes back', () => {
    const w = new Watch<LogId | null>(null);
    expect(w.setIfGreater({ term: 1, index: 5 }, compareLogId)).toBe(true);
    expect(w.setIfGreater({ term: 1, index: 3 }, compareLogId)).toBe(false);
    expect(w.setIfGreater({ term: 1, index: 5 }, compareLogId)).toBe(false);
    expect(w.setIfGreater({ term: 2, index: 0 }, compareLogId)).toBe(true);
    expect(w.get()).toEqual({ term: 2, index: 0 });
  });

  it('loses no wake-up: a change between reading and waiting resolves at once', async () => {
    const w = new Watch(0);
    const seen = w.version;
    w.set(7); // happens before we wait
    await expect(w.changed(undefined, seen)).resolves.toBe(7);
    expect(w.listenerCount).toBe(0);
  });

  it('removes a waiter whose signal aborts, and rejects with the reason', async () => {
    const w = new Watch(0);
    const ac = new AbortController();
    const p = w.changed(ac.signal);
    expect(w.listenerCount).toBe(1);
    ac.abort(new Error('bye'));
    await expect(p).rejects.toThrow('bye');
    expect(w.listenerCount).toBe(0);
    await expect(w.changed(ac.signal)).rejects.toThrow('bye');
  });

  it('does not accumulate listeners over many waits', async () => {
    const w = new Watch(0);
    const ac = new AbortController();
    for (let i = 0; i < 1_000; i++) {
      const p = w.changed(ac.signal);
      w.set(i + 1);
      await p;
    }
    expect(w.listenerCount).toBe(0);
  });

  it('uses a custom equality', () => {
    const w = new Watch({ n: 1 }, (a, b) => a.n === b.n);
    expect(w.set({ n: 1 })).toBe(false);
    expect(w.set({ n: 2 })).toBe(true);
  });
});

describe('waitAny', () => {
  it('wakes on any watch and leaves no listener behind', async () => {
    const a = new Watch(0);
    const b = new Watch(0);
    const ac = new AbortController();
    const p = waitAny([a, b], [a.version, b.version], ac.signal);
    expect(a.listenerCount + b.listenerCount).toBe(2);
    b.set(1);
    await p;
    expect(a.listenerCount + b.listenerCount).toBe(0);
  });

  it('rejects when the signal aborts, leaving no listener', async () => {
    const a = new Watch(0);
    const ac = new AbortController();
    const p = waitAny([a], [a.version], ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(a.listenerCount).toBe(0);
  });

  it('resolves at once when a watch already changed, and rejects at once on an aborted signal', async () => {
    const a = new Watch(0);
    const seen = a.version;
    a.set(1);
    await waitAny([a], [seen], new AbortController().signal);
    expect(a.listenerCount).toBe(0);
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    await expect(waitAny([a], [a.version], ac.signal)).rejects.toThrow('gone');
    expect(a.listenerCount).toBe(0);
  });

  it('works with any ReadonlyWatch, not only Watch', async () => {
    const inner = new Watch(0);
    const view: ReadonlyWatch<number> = {
      get: () => inner.get(),
      get version() {
        return inner.version;
      },
      changed: (signal, since) => inner.changed(signal, since),
    };
    const other = new Watch(0);
    const p = waitAny([view, other], [view.version, other.version], new AbortController().signal);
    inner.set(3);
    await p;
    expect(inner.listenerCount + other.listenerCount).toBe(0);
  });
});

describe('Watch.onNextChange', () => {
  it('calls the listener once at the next change; a cancelled one is never called', () => {
    const w = new Watch(0);
    const calls: string[] = [];
    w.onNextChange(() => calls.push('a'));
    const cancel = w.onNextChange(() => calls.push('b'));
    cancel();
    expect(w.listenerCount).toBe(1);
    w.set(1);
    w.set(2);
    expect(calls).toEqual(['a']);
    expect(w.listenerCount).toBe(0);
  });
});

describe('waitAnyWhen', () => {
  it('wakes on a filtered watch only when its predicate holds, and leaves no listener', async () => {
    const a = new Watch(0);
    const vote = new Watch(0);
    let lost = false;
    let done = false;
    const p = waitAnyWhen(
      [a, vote],
      [a.version, vote.version],
      [undefined, () => lost],
      new AbortController().signal,
    );
    void p.then(() => {
      done = true;
    });
    vote.set(1); // not lost yet: keeps waiting
    await Promise.resolve();
    await Promise.resolve();
    expect(done).toBe(false);
    expect(vote.listenerCount).toBe(1);
    lost = true;
    vote.set(2);
    await p;
    expect(a.listenerCount).toBe(0);
    expect(vote.listenerCount).toBe(0);
  });

  it('returns at once for a change made since `since` only if its predicate holds', async () => {
    const a = new Watch(0);
    const seen = a.version;
    a.set(1);
    let done = false;
    const ac = new AbortController();
    const p = waitAnyWhen([a], [seen], [() => false], ac.signal).then(
      () => {
        done = true;
      },
      () => 'aborted',
    );
    await Promise.resolve();
    expect(done).toBe(false);
    ac.abort(new Error('stop'));
    await expect(p).resolves.toBe('aborted');
    expect(a.listenerCount).toBe(0);
    await waitAnyWhen([a], [seen], [() => true], new AbortController().signal);
  });
});
