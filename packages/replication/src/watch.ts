import { onAbort } from './abort.ts';
import { Callbacks } from './callbacks.ts';

/**
 * A read-only view of a {@link Watch}: what replication streams receive from the runtime.
 */
export interface ReadonlyWatch<T> {
  /** The current value. */
  get(): T;
  /**
   * A counter bumped on every change. Pass it back to {@link ReadonlyWatch.changed} to wait for a
   * change made after it was read, so no wake-up is lost between reading and waiting.
   */
  readonly version: number;
  /**
   * Resolves with the new value at the next change after `since` (default: the current version);
   * resolves at once if the watch already changed since `since`. Rejects with the signal's reason
   * when `signal` aborts; its listener is removed either way, so waiting never leaks.
   */
  changed(signal?: AbortSignal, since?: number): Promise<T>;
}

/**
 * A value that others can wait on: the runtime sets it, replication streams wait for it to change.
 * Waiting never polls. Every waiter is removed when it is woken or its signal aborts, so the number
 * of registered listeners never exceeds the number of pending `changed` calls.
 *
 * @example
 * ```ts
 * const committed = new Watch<number>(0);
 * const next = committed.changed(signal); // resolves with 5
 * committed.set(5);
 * ```
 */
export class Watch<T> implements ReadonlyWatch<T> {
  #value: T;
  #version = 0;
  readonly #waiters = new Callbacks<T>();
  readonly #equals: (a: T, b: T) => boolean;

  /**
   * @param initial - the first value.
   * @param equals - when it says a new value equals the current one, `set` changes nothing and wakes
   *   nobody. Defaults to `Object.is`.
   */
  constructor(initial: T, equals: (a: T, b: T) => boolean = Object.is) {
    this.#value = initial;
    this.#equals = equals;
  }

  /** The current value. */
  get(): T {
    return this.#value;
  }

  /** Bumped on every change. */
  get version(): number {
    return this.#version;
  }

  /** The number of pending `changed` calls (for leak checks). */
  get listenerCount(): number {
    return this.#waiters.size;
  }

  /** Sets the value and wakes every waiter, unless it equals the current one. Returns whether it changed. */
  set(value: T): boolean {
    if (this.#equals(this.#value, value)) return false;
    this.#value = value;
    this.#version += 1;
    this.#waiters.drain(value);
    return true;
  }

  /**
   * Sets the value only if `compare(value, current) > 0`: a monotonic watch (log ids, commit index)
   * never goes back even when updates race. Returns whether it changed.
   */
  setIfGreater(value: T, compare: (a: T, b: T) => number): boolean {
    if (compare(value, this.#value) <= 0) return false;
    return this.set(value);
  }

  /**
   * Calls `listener` once, at the next change (no signal, no promise: for hot paths that cancel
   * often). Returns a function that cancels it; cancelling after it ran does nothing.
   */
  onNextChange(listener: () => void): () => void {
    this.#waiters.add(listener);
    return () => {
      this.#waiters.remove(listener);
    };
  }

  /** See {@link ReadonlyWatch.changed}. */
  changed(signal?: AbortSignal, since: number = this.#version): Promise<T> {
    if (since !== this.#version) return Promise.resolve(this.#value);
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      if (signal === undefined) {
        this.#waiters.add(resolve);
        return;
      }
      const waiter = (value: T) => {
        off();
        resolve(value);
      };
      const off = onAbort(signal, () => {
        this.#waiters.remove(waiter);
        reject(signal.reason);
      });
      this.#waiters.add(waiter);
    });
  }
}

/**
 * Waits until any of `watches` changes after the versions given in `since` (one per watch, in
 * order), or `signal` aborts (then rejects with its reason). Leaves no listener behind.
 *
 * It runs once per request a replication stream sends, so it avoids allocating an
 * `AbortController` per call (aborting one without a reason builds a `DOMException` and its stack,
 * which profiling showed as the busiest function of a loaded leader) when every watch is a
 * {@link Watch}: it registers plain callbacks and removes them when the first fires.
 */
export function waitAny(
  watches: readonly ReadonlyWatch<unknown>[],
  since: readonly number[],
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  for (const w of watches) if (!(w instanceof Watch)) return waitAnyReadonly(watches, since, signal);
  return waitAnyWatch(watches as readonly Watch<unknown>[], since, signal);
}

/** {@link waitAny} over watches that are not all {@link Watch}es: through their `changed`. */
async function waitAnyReadonly(
  watches: readonly ReadonlyWatch<unknown>[],
  since: readonly number[],
  signal: AbortSignal,
): Promise<void> {
  const local = new AbortController();
  const off = onAbort(signal, () => local.abort(signal.reason));
  try {
    await Promise.race(
      watches.map((w, i) =>
        w.changed(local.signal, since[i] ?? w.version).then(
          () => undefined,
          (e: unknown) => {
            // Only the parent's abort surfaces; the local abort below is our own cleanup.
            if (signal.aborted) throw e;
          },
        ),
      ),
    );
  } finally {
    off();
    local.abort(SETTLED);
  }
  if (signal.aborted) throw signal.reason;
}

/** The reason a settled wait's own controller aborts with: built once, never surfaced. */
const SETTLED = new Error('waitAny settled');

function waitAnyWatch(
  watches: readonly Watch<unknown>[],
  since: readonly number[],
  signal: AbortSignal,
): Promise<void> {
  for (let i = 0; i < watches.length; i++) {
    const w = watches[i] as Watch<unknown>;
    if (w.version !== (since[i] ?? w.version)) return Promise.resolve();
  }
  return new Promise<void>((resolve, reject) => {
    // One listener for every watch (the first change wins), the cancels in one array.
    const cancels = new Array<() => void>(watches.length + 1);
    const settle = () => {
      for (const c of cancels) c();
    };
    const wake = () => {
      settle();
      resolve();
    };
    cancels[0] = onAbort(signal, () => {
      settle();
      reject(signal.reason);
    });
    for (let i = 0; i < watches.length; i++)
      cancels[i + 1] = (watches[i] as Watch<unknown>).onNextChange(wake);
  });
}

/**
 * {@link waitAny} where a change of `watches[i]` only ends the wait when `wakes[i]` (if given) says
 * so, checked at the change (and at once for a change made since `since[i]`): a replication stream
 * waits on the accepted I/O for a change of leader, not for every write it accepts. Watches that are
 * not {@link Watch}es wake on every change (as with `waitAny`). Internal to the package.
 */
export function waitAnyWhen(
  watches: readonly ReadonlyWatch<unknown>[],
  since: readonly number[],
  wakes: readonly ((() => boolean) | undefined)[],
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  for (const w of watches) if (!(w instanceof Watch)) return waitAnyReadonly(watches, since, signal);
  for (let i = 0; i < watches.length; i++) {
    const w = watches[i] as Watch<unknown>;
    const when = wakes[i];
    if (w.version !== (since[i] ?? w.version) && (when === undefined || when())) return Promise.resolve();
  }
  return new Promise<void>((resolve, reject) => {
    const cancels = new Array<() => void>(watches.length + 1);
    const settle = () => {
      for (const c of cancels) c();
    };
    const wake = () => {
      settle();
      resolve();
    };
    cancels[0] = onAbort(signal, () => {
      settle();
      reject(signal.reason);
    });
    for (let i = 0; i < watches.length; i++) {
      const w = watches[i] as Watch<unknown>;
      const when = wakes[i];
      if (when === undefined) {
        cancels[i + 1] = w.onNextChange(wake);
        continue;
      }
      const listener = () => {
        if (when()) wake();
        else cancels[i + 1] = w.onNextChange(listener);
      };
      cancels[i + 1] = w.onNextChange(listener);
    }
  });
}
