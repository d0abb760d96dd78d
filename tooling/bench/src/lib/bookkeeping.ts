/**
 * The bookkeeping ceiling: what replicating and committing by majority costs in one Node process
 * with no Raft logic at all. A leader array and two follower arrays; each write is appended to the
 * leader's array and its caller waits; once per microtask turn the new entries are copied (as the
 * memory router copies a message) into each follower's array, each follower acknowledges its last
 * index, the commit index becomes the majority's (median) match, and the waiting writes up to it
 * resolve, in order; committed entries beyond the last 10,000 are dropped from all three arrays (as
 * a Raft log is purged behind snapshots), so memory stays bounded. No terms, votes, storage, state machine or network: an upper bound no Raft
 * implementation in this process can pass.
 *
 * @module
 */

interface Waiter {
  index: number;
  resolve: (index: number) => void;
}

/** Three in-process logs committed by majority (see the module comment). */
export class BookkeepingCluster {
  readonly #leader: Uint8Array[] = [];
  readonly #followers: Uint8Array[][] = [[], []];
  readonly #match = [0, 0, 0];
  readonly #waiters: Waiter[] = [];
  #waitHead = 0;
  #scheduled = false;
  /** Index of the first entry still held in the arrays, minus one. */
  #base = 0;
  committed = 0;

  /** Appends `data` on the leader; resolves with its index (1-based) once a majority holds it. */
  write(data: Uint8Array): Promise<number> {
    this.#leader.push(data);
    const index = this.#base + this.#leader.length;
    this.#match[0] = index;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#replicate());
    }
    return new Promise((resolve) => this.#waiters.push({ index, resolve }));
  }

  #replicate(): void {
    this.#scheduled = false;
    for (let f = 0; f < this.#followers.length; f++) {
      const log = this.#followers[f] as Uint8Array[];
      for (let i = log.length; i < this.#leader.length; i++)
        log.push((this.#leader[i] as Uint8Array).slice());
      this.#match[f + 1] = this.#base + log.length;
    }
    const sorted = [...this.#match].sort((a, b) => b - a);
    const majority = sorted[1] as number;
    if (majority <= this.committed) return;
    this.committed = majority;
    while (this.#waitHead < this.#waiters.length) {
      const w = this.#waiters[this.#waitHead] as Waiter;
      if (w.index > majority) break;
      this.#waitHead++;
      w.resolve(w.index);
    }
    if (this.committed - this.#base > 20_000) {
      const drop = this.committed - this.#base - 10_000;
      this.#leader.splice(0, drop);
      for (const log of this.#followers) log.splice(0, drop);
      this.#base += drop;
    }
    if (this.#waitHead > 4096 && this.#waitHead * 2 > this.#waiters.length) {
      this.#waiters.splice(0, this.#waitHead);
      this.#waitHead = 0;
    }
  }

  /** The last index of each log (leader first). */
  lastIndexes(): number[] {
    return [this.#leader.length, ...this.#followers.map((f) => f.length)].map((n) => this.#base + n);
  }
}
