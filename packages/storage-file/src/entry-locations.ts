/**
 * The entry locations (the store's in-memory index; named apart from "index", which in this
 * codebase is a log index): where each entry lives in its segment and which term it has.
 * Per entry it keeps two `Uint32` (offset in the segment, record size) in growable typed arrays used
 * as a deque; terms are kept as runs (one pair per term change), so the cost is 8 bytes per entry
 * plus spare capacity (at most as much again), never an object per entry.
 *
 * Invariants: indexes are consecutive from `first` to `next - 1`; term runs are sorted by start,
 * the first run starts at `first` whenever it is non-empty. Must never do I/O.
 */
export class EntryLocations {
  #offsets = new Uint32Array(1024);
  #sizes = new Uint32Array(1024);
  #head = 0;
  #len = 0;
  #first: number;
  #runStarts: number[] = [];
  #runTerms: number[] = [];

  /** Starts empty at `first`. */
  constructor(first: number) {
    this.#first = first;
  }

  /** The first indexed log index. */
  get first(): number {
    return this.#first;
  }
  /** One past the last indexed log index. */
  get next(): number {
    return this.#first + this.#len;
  }
  /** The number of entries indexed. */
  get length(): number {
    return this.#len;
  }

  /** Adds the entry `next` with its term and location. */
  push(term: number, offset: number, size: number): void {
    if (this.#head + this.#len === this.#offsets.length) this.#grow();
    const at = this.#head + this.#len;
    this.#offsets[at] = offset;
    this.#sizes[at] = size;
    const lastTerm = this.#runTerms.length > 0 ? this.#runTerms[this.#runTerms.length - 1] : undefined;
    if (lastTerm !== term) {
      this.#runStarts.push(this.next);
      this.#runTerms.push(term);
    }
    this.#len++;
  }

  #grow(): void {
    const need = this.#len + 1;
    const cap = this.#offsets.length;
    if (this.#head > 0 && this.#len < cap / 2) {
      // Enough room once compacted.
      this.#offsets.copyWithin(0, this.#head, this.#head + this.#len);
      this.#sizes.copyWithin(0, this.#head, this.#head + this.#len);
      this.#head = 0;
      return;
    }
    this.#reallocate(Math.max(cap * 2, need));
  }

  /** Moves the live entries into fresh arrays of capacity `cap` (at least `#len`), starting at 0. */
  #reallocate(cap: number): void {
    const o = new Uint32Array(cap);
    const s = new Uint32Array(cap);
    o.set(this.#offsets.subarray(this.#head, this.#head + this.#len));
    s.set(this.#sizes.subarray(this.#head, this.#head + this.#len));
    this.#offsets = o;
    this.#sizes = s;
    this.#head = 0;
  }

  /** Offset of entry `index` in its segment. `index` must be indexed. */
  offsetOf(index: number): number {
    return this.#offsets[this.#head + index - this.#first] ?? 0;
  }
  /** Record size of entry `index`. `index` must be indexed. */
  sizeOf(index: number): number {
    return this.#sizes[this.#head + index - this.#first] ?? 0;
  }

  #runOf(index: number): number {
    let lo = 0;
    let hi = this.#runStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#runStarts[mid] ?? 0) <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Term of entry `index`. `index` must be indexed. */
  termOf(index: number): number {
    return this.#runTerms[this.#runOf(index)] ?? 0;
  }

  /** Drops every entry `>= index`. */
  truncate(index: number): void {
    if (index >= this.next) return;
    const keep = Math.max(0, index - this.#first);
    this.#len = keep;
    while (this.#runStarts.length > 0 && (this.#runStarts[this.#runStarts.length - 1] ?? 0) >= index) {
      this.#runStarts.pop();
      this.#runTerms.pop();
    }
  }

  /** Drops every entry `< index`; afterwards `first === index` (also when past the end). */
  purge(index: number): void {
    if (index <= this.#first) return;
    const drop = Math.min(this.#len, index - this.#first);
    this.#head += drop;
    this.#len -= drop;
    if (this.#len === 0) this.#head = 0;
    this.#first = index;
    if (this.#len === 0) {
      this.#runStarts = [];
      this.#runTerms = [];
      return;
    }
    const r = this.#runOf(index);
    this.#runStarts.splice(0, r);
    this.#runTerms.splice(0, r);
    this.#runStarts[0] = index;
    // Give memory back once mostly empty.
    if (this.#offsets.length > 4096 && this.#len < this.#offsets.length / 4) {
      this.#reallocate(Math.max(1024, this.#len * 2));
    }
  }

  /**
   * The last index of each term within `[from, to]` (both indexed), in order: the key log ids a
   * follower reports.
   */
  termEnds(from: number, to: number): { term: number; index: number }[] {
    const out: { term: number; index: number }[] = [];
    for (let r = this.#runOf(from); r < this.#runStarts.length; r++) {
      const start = this.#runStarts[r] ?? 0;
      if (start > to) break;
      const end = Math.min(to, (this.#runStarts[r + 1] ?? this.next) - 1);
      out.push({ term: this.#runTerms[r] ?? 0, index: end });
    }
    return out;
  }

  /** Bytes held by the index (typed arrays and term runs). */
  memoryBytes(): number {
    return this.#offsets.byteLength + this.#sizes.byteLength + this.#runStarts.length * 16;
  }
}
