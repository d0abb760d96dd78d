/**
 * Owns the one time contract of Flotilla: a monotonic clock with timers, injected wherever time is
 * read or waited on, so simulators can replace it with virtual time and replay a seed exactly.
 * The engine never sees a clock: time enters it as an argument.
 */

/** An opaque timer handle, returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Time and timers. The default, {@link systemClock}, uses `performance.now()` and Node's timers;
 * simulators inject a virtual clock.
 */
export interface Clock {
  /** Monotonic milliseconds. Never goes backwards. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds (0 or less: as soon as possible, after pending I/O). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer (a no-op if it already fired or was cancelled). */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and Node's timers. A running node's timers keep the process
 * alive, like a listening server does, until the node stops and clears them.
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms),
  clearTimeout: (h: TimerHandle) => clearTimeout(h as ReturnType<typeof setTimeout>),
});

/** Resolves after `ms` on `clock`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
