/**
 * `Callbacks<T>`: an ordered list of one-shot callbacks with cheap add, remove and drain, for the
 * waits a replication stream sets up and tears down per message.
 *
 * Owns: the callbacks' order and their removal by identity. Must never: call a removed callback,
 * call one twice, or allocate when a wait comes and goes on an otherwise empty list (a `Set`
 * reallocates its table under such churn, and `clear()` allocates a fresh one).
 */
export class Callbacks<T> {
  #fns: (((value: T) => void) | null)[] = [];
  #live = 0;

  /** How many callbacks are registered. */
  get size(): number {
    return this.#live;
  }

  /** Registers `fn` (registering it twice calls it twice). */
  add(fn: (value: T) => void): void {
    this.#fns.push(fn);
    this.#live++;
  }

  /** Removes the latest registration of `fn`; returns whether there was one. */
  remove(fn: (value: T) => void): boolean {
    const fns = this.#fns;
    for (let i = fns.length - 1; i >= 0; i--) {
      if (fns[i] !== fn) continue;
      this.#live--;
      if (i === fns.length - 1) {
        fns.pop();
        while (fns.length > 0 && fns[fns.length - 1] === null) fns.pop();
      } else {
        fns[i] = null;
        if (fns.length > 2 * this.#live + 16) this.#fns = fns.filter((f) => f !== null);
      }
      return true;
    }
    return false;
  }

  /** Removes every callback, then calls each in registration order with `value`. */
  drain(value: T): void {
    const fns = this.#fns;
    if (fns.length === 0) return;
    this.#fns = [];
    this.#live = 0;
    for (const f of fns) if (f !== null) f(value);
  }
}
