import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort, raceAbort } from './abort.ts';

describe('onAbort', () => {
  it('runs the live subscriptions once, in order, through one listener on the signal', () => {
    const ac = new AbortController();
    const calls: number[] = [];
    const offs = [1, 2, 3, 4].map((n) => onAbort(ac.signal, () => calls.push(n)));
    offs[1]?.();
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort();
    ac.abort();
    expect(calls).toEqual([1, 3, 4]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('keeps one listener however many waits come and go', async () => {
    const ac = new AbortController();
    for (let i = 0; i < 1000; i++) await raceAbort(Promise.resolve(i), ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    const pending = raceAbort(new Promise(() => {}), ac.signal);
    ac.abort(new Error('gone'));
    await expect(pending).rejects.toThrow('gone');
  });

  it('calls a function subscribed twice twice', () => {
    const ac = new AbortController();
    let n = 0;
    const f = () => n++;
    onAbort(ac.signal, f);
    onAbort(ac.signal, f);
    ac.abort();
    expect(n).toBe(2);
  });
});
