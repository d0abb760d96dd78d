/**
 * The tail cache: the most recent entries of the log, `[start, start + size)`, kept in memory so
 * replication reads of fresh entries never touch the disk, and so entries are readable before their
 * batch is written. Owns the entries' memory accounting and the eviction rule.
 *
 * Must never evict an entry at or above the index the caller says is not written yet (it would then
 * be readable from nowhere), and never does I/O.
 */
import type { Entry } from '@flotilla/types';

/** Memory charged per cached entry on top of its payload bytes. */
const ENTRY_OVERHEAD = 64;

function costOf(entry: Entry): number {
  const payload = entry.payload;
  return ENTRY_OVERHEAD + (payload.type === 'normal' ? payload.data.byteLength : 0);
}

/** The bounds {@link TailCache.evict} keeps the cache within. */
export interface TailCacheLimits {
  /** Most entries kept. */
  maxEntries: number;
  /** Most bytes kept (payload plus a fixed overhead per entry). */
  maxBytes: number;
}

/**
 * A deque of the log's last entries. When non-empty its last entry is the log's last entry (the
 * store appends and truncates it together with its index).
 */
export class TailCache {
  #entries: Entry[] = [];
  #costs: number[] = [];
  /** Position in `#entries` of the entry `#start`. */
  #head = 0;
  #start: number;
  #bytes = 0;

  /** Starts empty; the first append sets where it begins. */
  constructor(start: number) {
    this.#start = start;
  }

  /** Index of the first cached entry (when empty: a lower bound of what the next append brings). */
  get start(): number {
    return this.#start;
  }

  /** The number of cached entries. */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** The cached entry at `index`, which must lie in `[start, start + size)`. */
  at(index: number): Entry {
    return this.#entries[this.#head + index - this.#start] as Entry;
  }

  /** Adds `entries`, which continue the log at `first`. */
  append(first: number, entries: readonly Entry[]): void {
    if (this.size === 0) this.#start = first;
    for (const entry of entries) {
      const cost = costOf(entry);
      this.#entries.push(entry);
      this.#costs.push(cost);
      this.#bytes += cost;
    }
  }

  /** Drops every cached entry with index `>= index` (the log was truncated there). */
  truncateFrom(index: number): void {
    const keep = Math.max(0, index - this.#start);
    for (let k = this.size - 1; k >= keep; k--) {
      this.#bytes -= this.#costs.pop() ?? 0;
      this.#entries.pop();
    }
  }

  /** Drops every cached entry with index `< nextLive` (the log was purged below it). */
  dropBelow(nextLive: number): void {
    while (this.#start < nextLive && this.size > 0) this.#dropFront();
    if (this.size === 0) this.#start = Math.max(this.#start, nextLive);
  }

  /** Drops the oldest entries while over `limits`, keeping every entry `>= unwrittenFrom`. */
  evict(limits: TailCacheLimits, unwrittenFrom: number): void {
    while (
      this.size > 0 &&
      this.#start < unwrittenFrom &&
      (this.size > limits.maxEntries || this.#bytes > limits.maxBytes)
    )
      this.#dropFront();
  }

  #dropFront(): void {
    this.#bytes -= this.#costs[this.#head] ?? 0;
    this.#entries[this.#head] = undefined as unknown as Entry;
    this.#head++;
    this.#start++;
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#costs = this.#costs.slice(this.#head);
      this.#head = 0;
    }
  }
}
