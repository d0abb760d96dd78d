/**
 * Owns the one async queue of Flotilla: an unbounded single-consumer queue that is also an async
 * iterable, used wherever a push-style source (a socket, a router) feeds a pull-style consumer
 * (`streamAppend`'s request and reply iterables, snapshot chunks). It never applies backpressure by
 * itself: producers watch {@link AsyncQueue.size} and {@link AsyncQueue.onPull}.
 */

type Terminal = { kind: 'end' } | { kind: 'error'; error: unknown };

/**
 * Producers `push`, then `end` or `fail`; the consumer iterates once (or calls `next`). Items pushed
 * after the queue closed are dropped.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  /** Called after the consumer takes an item (a producer paused at a high mark can resume). */
  onPull: () => void = () => {};
  /** Called once if the consumer stops early (`break` / `return` in a `for await`). */
  onCancel: () => void = () => {};

  #items: T[] = [];
  #head = 0;
  #terminal: Terminal | undefined;
  #waiter: { resolve: (r: IteratorResult<T, undefined>) => void; reject: (e: unknown) => void } | undefined;

  /** Items waiting for the consumer. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Whether `end`, `fail` or `failNow` was called (or the consumer cancelled). */
  get closed(): boolean {
    return this.#terminal !== undefined;
  }

  /** Adds an item (dropped once closed). */
  push(item: T): void {
    if (this.#terminal !== undefined) return;
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
    this.#close({ kind: 'end' });
  }

  /** Fails the queue: the consumer gets `error` after the items already queued. */
  fail(error: unknown): void {
    this.#close({ kind: 'error', error });
  }

  /** Drops what is queued and fails at once (aborts, timeouts); replaces an `end` not yet seen. */
  failNow(error: unknown): void {
    if (this.#terminal !== undefined && this.size === 0) return;
    this.#items = [];
    this.#head = 0;
    this.#terminal = undefined;
    this.#close({ kind: 'error', error });
  }

  /** The next queued item without taking it, if there is one. */
  peek(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  /** Takes the next queued item at once; throws if none is queued (call after {@link AsyncQueue.peek}). */
  take(): T {
    if (this.#head >= this.#items.length) throw new Error('AsyncQueue.take: nothing is queued');
    const value = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.onPull();
    return value;
  }

  /** Waits for the next item; `done` once ended; rejects once failed (and keeps doing so). */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#head < this.#items.length) return Promise.resolve({ value: this.take(), done: false });
    const t = this.#terminal;
    if (t?.kind === 'error') return Promise.reject(t.error);
    if (t?.kind === 'end') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** The queue as an iterator; `return()` (an early `break`) drops what is queued and calls `onCancel`. */
  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return {
      next: () => this.next(),
      return: () => {
        if (this.#terminal === undefined) {
          this.#terminal = { kind: 'end' };
          this.#items = [];
          this.#head = 0;
          this.onCancel();
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #close(t: Terminal): void {
    if (this.#terminal !== undefined) return;
    this.#terminal = t;
    const w = this.#waiter;
    if (w === undefined || this.#head < this.#items.length) return;
    this.#waiter = undefined;
    if (t.kind === 'error') w.reject(t.error);
    else w.resolve({ value: undefined, done: true });
  }
}
