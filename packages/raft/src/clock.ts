/** An opaque timer handle. */
export type TimerHandle = unknown;

/**
 * Time for the runtime: a monotonic clock and timers. The default uses `performance.now()` and
 * `setTimeout`; simulators inject a virtual clock so a seed replays exactly.
 */
export interface Clock {
  /** Monotonic milliseconds. Never goes backwards. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer (no-op if it already fired). */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and Node's timers. A running node's timers keep the process
 * alive, like a listening server does, until `shutdown()` clears them.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when aborted. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(h);
      reject(signal?.reason);
    };
    const h = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
