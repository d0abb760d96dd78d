/** A virtual-time event queue: events run in (time, insertion) order, so a seed replays exactly. */
export class Scheduler {
  #heap: { at: number; seq: number; label: string; run: () => void }[] = [];
  #seq = 0;
  /** The current virtual time (ms). */
  now = 0;

  /** Schedules `run` at virtual time `at` (never before now). */
  at(at: number, label: string, run: () => void): void {
    const ev = { at: Math.max(at, this.now), seq: this.#seq++, label, run };
    const h = this.#heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Schedules `run` after `delay` ms. */
  after(delay: number, label: string, run: () => void): void {
    this.at(this.now + delay, label, run);
  }

  /** Pops and runs the next event; returns its label, or null when the queue is empty. */
  step(): string | null {
    const h = this.#heap;
    const top = h[0];
    if (top === undefined) return null;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    this.now = top.at;
    top.run();
    return top.label;
  }

  /** Number of queued events. */
  get size(): number {
    return this.#heap.length;
  }
}

function less(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
