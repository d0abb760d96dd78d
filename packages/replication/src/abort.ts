import { Callbacks } from './callbacks.ts';

/**
 * Owns abort helpers for calls that may ignore their signal, and the cheap abort subscriptions the
 * hot path uses (one `EventTarget` listener per signal, however many waits come and go on it).
 */

/** The callbacks waiting on each signal; its one real listener runs them. */
const waiting = new WeakMap<AbortSignal, Callbacks<void>>();

/**
 * Calls `fn` once when `signal` aborts (never if it already did: check `signal.aborted` first, as
 * with `addEventListener`). Returns the unsubscribe function. A wait that is set up and torn down per
 * message costs a list push and pop here instead of an `EventTarget` listener (which profiling showed
 * as a large share of a pipelined stream's CPU and garbage). Callbacks run in subscription order.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let fns = waiting.get(signal);
  if (fns === undefined) {
    const created = new Callbacks<void>();
    fns = created;
    waiting.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        created.drain(undefined);
      },
      { once: true },
    );
  }
  const own = fns;
  own.add(fn);
  return () => {
    own.remove(fn);
  };
}

/**
 * Races `promise` against `signal`: rejects with the signal's reason as soon as it aborts, without
 * waiting for `promise` (which may hang forever). A later rejection of `promise` is swallowed.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const off = onAbort(signal, () => reject(signal.reason));
    promise.then(
      (v) => {
        off();
        resolve(v);
      },
      (e: unknown) => {
        off();
        reject(e);
      },
    );
  });
}
