type Item<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'end' };

/**
 * An unbounded single-consumer async queue: `push` values, then `end()` or `fail()`; the consumer
 * awaits `next()`. `failNow` discards what is buffered and fails at once (aborts, timeouts).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: Item<T>[] = [];
  #waiter: ((item: Item<T>) => void) | null = null;
  #closed = false;

  /** Whether `end`, `fail` or `failNow` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Buffered items not yet taken. */
  get size(): number {
    return this.#items.length;
  }

  /** Adds a value (ignored once closed). */
  push(value: T): void {
    this.#put({ kind: 'value', value });
  }

  /** Ends the queue after what is buffered. */
  end(): void {
    this.#put({ kind: 'end' });
  }

  /** Fails the queue after what is buffered. */
  fail(error: unknown): void {
    this.#put({ kind: 'error', error });
  }

  /** Drops what is buffered and fails at once. */
  failNow(error: unknown): void {
    if (this.#closed && this.#items.length === 0 && this.#waiter === null) return;
    this.#items.length = 0;
    this.#closed = false;
    this.#put({ kind: 'error', error });
  }

  /** The next buffered value, if the head of the queue is one, without taking it. */
  peekValue(): T | undefined {
    const head = this.#items[0];
    return head?.kind === 'value' ? head.value : undefined;
  }

  /** Takes the head value (call only after `peekValue` returned one). */
  take(): T {
    const head = this.#items.shift();
    if (head?.kind !== 'value') throw new Error('AsyncQueue.take: the head is not a value');
    return head.value;
  }

  /** Waits for the next value; `done` once ended; throws once failed. */
  async next(): Promise<IteratorResult<T, undefined>> {
    const item = this.#items.shift() ?? (await new Promise<Item<T>>((resolve) => (this.#waiter = resolve)));
    if (item.kind === 'value') return { done: false, value: item.value };
    // Terminal items stay so later calls see them too.
    this.#items.unshift(item);
    if (item.kind === 'end') return { done: true, value: undefined };
    throw item.error;
  }

  /** @inheritDoc */
  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return { next: () => this.next(), return: async () => ({ done: true, value: undefined }) };
  }

  #put(item: Item<T>): void {
    if (this.#closed) return;
    if (item.kind !== 'value') this.#closed = true;
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w(item);
    } else {
      this.#items.push(item);
    }
  }
}
