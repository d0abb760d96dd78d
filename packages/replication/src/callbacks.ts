/**
 * `Callbacks<T>`: an ordered list of one-shot callbacks with cheap add, remove and drain, for the
 * waits a replication stream sets up and tears down per message.
 *
 * Owns: the callbacks' order and their removal by identity. Must never: call a removed callback,
 * call one twice, or allocate when a wait comes and goes (a `Set` reallocates its table under such
 * churn, and a fresh array per drain allocates its backing store on the next add: drained arrays
 * are kept and reused).
 */
type Fn<T> = (value: T) => void;

export class Callbacks<T> {
  /** Slots `[0, #n)` hold the registrations in order; removed ones in the middle are `null`. */
  #fns: (Fn<T> | null)[] = [];
  #n = 0;
  #live = 0;
  /** A drained array, cleared, for the next drain to swap in (`null` while a drain runs on it). */
  #spare: (Fn<T> | null)[] | null = [];

  /** How many callbacks are registered. */
  get size(): number {
    return this.#live;
  }

  /** Registers `fn` (registering it twice calls it twice). */
  add(fn: Fn<T>): void {
    this.#fns[this.#n++] = fn;
    this.#live++;
  }

  /** Removes the latest registration of `fn`; returns whether there was one. */
  remove(fn: Fn<T>): boolean {
    const fns = this.#fns;
    for (let i = this.#n - 1; i >= 0; i--) {
      if (fns[i] !== fn) continue;
      this.#live--;
      fns[i] = null;
      if (i === this.#n - 1) {
        let n = i;
        while (n > 0 && fns[n - 1] === null) n--;
        this.#n = n;
      } else if (this.#n > 2 * this.#live + 16) {
        let k = 0;
        for (let j = 0; j < this.#n; j++) {
          const f = fns[j] ?? null;
          fns[j] = null;
          if (f !== null) fns[k++] = f;
        }
        this.#n = k;
      }
      return true;
    }
    return false;
  }

  /** Removes every callback, then calls each in registration order with `value`. */
  drain(value: T): void {
    const n = this.#n;
    if (n === 0) return;
    const fns = this.#fns;
    // Callbacks may register again while this drain runs: they go to the other array.
    this.#fns = this.#spare ?? [];
    this.#spare = null;
    this.#n = 0;
    this.#live = 0;
    for (let i = 0; i < n; i++) {
      const f = fns[i] ?? null;
      fns[i] = null;
      if (f !== null) f(value);
    }
    if (this.#spare === null) this.#spare = fns;
  }
}
