/**
 * An unbounded single-consumer queue that is also an async iterable. Producers `push`, then `end` or
 * `fail`; the consumer iterates once. `onPull` runs after each item is taken, so a producer can apply
 * backpressure by watching `size`.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  /** Called after the consumer takes an item. */
  onPull: () => void = () => {};
  /** Called once if the consumer stops early (break/return). */
  onCancel: () => void = () => {};

  #items: T[] = [];
  #head = 0;
  #done = false;
  #error: { err: unknown } | undefined;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;

  /** Items waiting for the consumer. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Whether `end` or `fail` was called. */
  get finished(): boolean {
    return this.#done || this.#error !== undefined;
  }

  /** Adds an item (ignored once finished). */
  push(item: T): void {
    if (this.finished) return;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w.resolve({ value: item, done: false });
      this.onPull();
      return;
    }
    this.#items.push(item);
  }

  /** Ends the queue once the items already queued are consumed. */
  end(): void {
    if (this.finished) return;
    this.#done = true;
    this.#wake();
  }

  /** Fails the queue: the consumer gets `err` after the items already queued. */
  fail(err: unknown): void {
    if (this.finished) return;
    this.#error = { err };
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    if (w === undefined) return;
    this.#waiter = undefined;
    if (this.#error !== undefined) w.reject(this.#error.err);
    else w.resolve({ value: undefined, done: true });
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined as T;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      this.onPull();
      return Promise.resolve({ value, done: false });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error.err);
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.#next(),
      return: () => {
        if (!this.finished) {
          this.#done = true;
          this.#items = [];
          this.#head = 0;
          this.onCancel();
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
