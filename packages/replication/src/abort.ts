/**
 * Owns abort helpers for calls that may ignore their signal, and the cheap abort subscriptions the
 * hot path uses (one `EventTarget` listener per signal, however many waits come and go on it).
 */

/** The callbacks waiting on each signal; its one real listener runs them. */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `fn` once when `signal` aborts (never if it already did: check `signal.aborted` first, as
 * with `addEventListener`). Returns the unsubscribe function. A wait that is set up and torn down per
 * message costs a `Set` insertion here instead of an `EventTarget` listener (which profiling showed
 * as a large share of a pipelined stream's CPU and garbage). Callbacks run in subscription order.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let fns = waiting.get(signal);
  if (fns === undefined) {
    const created = new Set<() => void>();
    fns = created;
    waiting.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        const all = [...created];
        created.clear();
        for (const f of all) f();
      },
      { once: true },
    );
  }
  const own = fns;
  // A distinct wrapper per subscription: subscribing the same function twice calls it twice.
  const entry = () => fn();
  own.add(entry);
  return () => {
    own.delete(entry);
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
