import { type Clock, systemClock, type TimerHandle } from '@flotilla/types';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

/**
 * Real time for benchmarks: the system clock, except that a 0 ms timer runs on `setImmediate` (so a
 * zero delay costs no timer granularity).
 */
export const realTimerClock: Clock = {
  now: () => systemClock.now(),
  setTimeout: (fn, ms) => (ms <= 0 ? { immediate: setImmediate(fn) } : systemClock.setTimeout(fn, ms)),
  clearTimeout: (h: TimerHandle) => {
    if (typeof h === 'object' && h !== null && 'immediate' in h) {
      clearImmediate((h as { immediate: ReturnType<typeof setImmediate> }).immediate);
    } else systemClock.clearTimeout(h);
  },
};

/** Lets every pending promise callback run (the microtask queue drains before `setImmediate`). */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A virtual clock for deterministic tests and benchmarks: time moves only when {@link VirtualClock.run}
 * or {@link VirtualClock.runUntil} fire the next timer, after all pending promise work has drained.
 * Timers due at the same instant fire in the order they were set.
 */
export class VirtualClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers: Timer[] = [];

  /** The virtual time, in ms. */
  now(): number {
    return this.#now;
  }

  /** Pending timers. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Calls `fn` after `ms` virtual milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fire: fn };
    let i = this.#timers.length;
    while (i > 0 && (this.#timers[i - 1] as Timer).at > t.at) i -= 1;
    this.#timers.splice(i, 0, t);
    return t;
  }

  /** Cancels a timer set by {@link VirtualClock.setTimeout}. */
  clearTimeout(handle: TimerHandle): void {
    const k = this.#timers.indexOf(handle as Timer);
    if (k >= 0) this.#timers.splice(k, 1);
  }

  /**
   * Fires timers in order until virtual time would pass `now() + ms`, then sets the time to that
   * instant. Drains pending promise work before each timer and at the end.
   */
  async run(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await drainMicrotasks();
      const t = this.#timers[0];
      if (t === undefined || t.at > end) break;
      this.#timers.shift();
      this.#now = t.at;
      t.fire();
    }
    this.#now = end;
    await drainMicrotasks();
  }

  /**
   * Fires timers in order until `done()` holds (checked after draining), or gives up when virtual
   * time would pass `now() + limitMs`. Returns whether `done()` held.
   */
  async runUntil(done: () => boolean, limitMs = 60_000): Promise<boolean> {
    const end = this.#now + limitMs;
    for (;;) {
      await drainMicrotasks();
      if (done()) return true;
      const t = this.#timers[0];
      if (t === undefined || t.at > end) return false;
      this.#timers.shift();
      this.#now = t.at;
      t.fire();
    }
  }
}
