import { type ReplicationClock, systemClock } from '../clock.ts';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

/** A clock that can also run callbacks later: what {@link FakeNetwork} needs. */
export interface TimerClock extends ReplicationClock {
  /** Calls `fire` after `ms` ms; returns a function that cancels it. */
  setTimer(ms: number, fire: () => void): () => void;
}

/**
 * Real time for benchmarks: `performance.now()`, `setTimeout`, and `setImmediate` for 0 ms (so a
 * zero delay costs no timer granularity).
 */
export const realTimerClock: TimerClock = {
  now: () => systemClock.now(),
  sleep: (ms, signal) => {
    if (ms > 0) return systemClock.sleep(ms, signal);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason);
        return;
      }
      setImmediate(resolve);
    });
  },
  setTimer(ms, fire) {
    if (ms <= 0) {
      const h = setImmediate(fire);
      return () => clearImmediate(h);
    }
    const h = setTimeout(fire, ms);
    return () => clearTimeout(h);
  },
};

/** Lets every pending promise callback run (the microtask queue drains before `setImmediate`). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A virtual clock for deterministic tests and benchmarks: time moves only when {@link VirtualClock.run}
 * or {@link VirtualClock.runUntil} fire the next timer, after all pending promise work has settled.
 * Timers due at the same instant fire in the order they were set.
 */
export class VirtualClock implements TimerClock {
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

  /** Calls `fire` after `ms` virtual milliseconds; returns a function that cancels it. */
  setTimer(ms: number, fire: () => void): () => void {
    const t: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fire };
    let i = this.#timers.length;
    while (i > 0 && (this.#timers[i - 1] as Timer).at > t.at) i -= 1;
    this.#timers.splice(i, 0, t);
    return () => {
      const k = this.#timers.indexOf(t);
      if (k >= 0) this.#timers.splice(k, 1);
    };
  }

  /** See {@link ReplicationClock.sleep}. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        cancel();
        reject(signal?.reason);
      };
      const cancel = this.setTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Fires timers in order until virtual time would pass `now() + ms`, then sets the time to that
   * instant. Settles pending promise work before each timer and at the end.
   */
  async run(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      const t = this.#timers[0];
      if (t === undefined || t.at > end) break;
      this.#timers.shift();
      this.#now = t.at;
      t.fire();
    }
    this.#now = end;
    await settle();
  }

  /**
   * Fires timers in order until `done()` holds (checked after settling), or gives up when virtual
   * time would pass `now() + limitMs`. Returns whether `done()` held.
   */
  async runUntil(done: () => boolean, limitMs = 60_000): Promise<boolean> {
    const end = this.#now + limitMs;
    for (;;) {
      await settle();
      if (done()) return true;
      const t = this.#timers[0];
      if (t === undefined || t.at > end) return false;
      this.#timers.shift();
      this.#now = t.at;
      t.fire();
    }
  }
}
