/**
 * The virtual time of the runtime-level simulator: one global timeline of timer events, run one at a
 * time in (time, sequence) order, and per-node clocks on top of it with their own rate (drift) and
 * pauses. Between two events, promise and `setImmediate` work settles, so with no real timer or I/O
 * in play a run is a pure function of its seed.
 */
import type { Clock, TimerHandle } from '@flotilla/raft';

/** One pending timer event. */
interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** How many `setImmediate` turns to let pass after each event (work that yields more runs later). */
const SETTLE_TURNS = 3;

/** Lets promise callbacks and `setImmediate` work run for a bounded number of turns. */
export async function settle(turns = SETTLE_TURNS): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A binary min-heap of timers ordered by `(at, seq)`. */
class TimerHeap {
  readonly #a: Timer[] = [];

  get size(): number {
    return this.#a.length;
  }

  push(t: Timer): void {
    const a = this.#a;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  peek(): Timer | undefined {
    return this.#a[0];
  }

  pop(): Timer | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(x: Timer, y: Timer): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/**
 * The global timeline. `now` is "real" simulated time in ms; nodes see it through a
 * {@link NodeClock}.
 */
export class SimScheduler {
  /** Simulated real time, in ms. */
  now = 0;
  #seq = 0;
  readonly #heap = new TimerHeap();

  /** Runs `fn` at real time `now + ms` (clamped at 0); returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void {
    const t: Timer = { at: this.now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#heap.push(t);
    return () => {
      t.cancelled = true;
    };
  }

  /** The time of the next live event, or `null` when none is pending. */
  nextAt(): number | null {
    for (;;) {
      const t = this.#heap.peek();
      if (t === undefined) return null;
      if (!t.cancelled) return t.at;
      this.#heap.pop();
    }
  }

  /**
   * Runs the next live event no later than `until` (advancing `now` to it) and lets the work it
   * started settle. Returns false, with `now` moved to `until`, when no event is due by then.
   */
  async step(until: number): Promise<boolean> {
    const at = this.nextAt();
    if (at === null || at > until) {
      this.now = Math.max(this.now, until);
      await settle();
      return false;
    }
    const t = this.#heap.pop()!;
    this.now = Math.max(this.now, t.at);
    t.fn();
    await settle();
    return true;
  }

  /** Pending events (cancelled ones included until they surface). */
  get pending(): number {
    return this.#heap.size;
  }
}

/**
 * One node's view of time: a monotonic clock running at `rate` × real time (drift), timers that
 * die with the incarnation that set them, and pauses during which due timers are held until the
 * node resumes (the clock itself keeps running, as a stopped process's monotonic clock does).
 */
export class NodeClock implements Clock {
  readonly #sched: SimScheduler;
  /** Clock rate relative to real time (1.05 = 5% fast). */
  readonly rate: number;
  readonly #offset: number;
  #paused = false;
  #alive = true;
  readonly #held: (() => void)[] = [];

  /** A clock at `rate`, reading `offset` at real time 0. */
  constructor(sched: SimScheduler, rate: number, offset: number) {
    this.#sched = sched;
    this.rate = rate;
    this.#offset = offset;
  }

  /** @inheritDoc */
  now(): number {
    return this.#offset + this.#sched.now * this.rate;
  }

  /** @inheritDoc */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#sched.after(Math.max(0, ms) / this.rate, () => {
      if (!this.#alive) return;
      if (this.#paused) this.#held.push(fn);
      else fn();
    });
  }

  /** @inheritDoc */
  clearTimeout(handle: TimerHandle): void {
    (handle as () => void)();
  }

  /** A timer for the memory router / store signature (returns a canceller). */
  timer(fn: () => void, ms: number): () => void {
    return this.setTimeout(fn, ms) as () => void;
  }

  /** Whether the node is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Whether the incarnation using this clock is still alive. */
  get alive(): boolean {
    return this.#alive;
  }

  /** Resolves at once when the node runs, else when it resumes (never if it dies paused). */
  whenRunning(): Promise<void> {
    if (!this.#paused) return Promise.resolve();
    return new Promise((resolve) => this.#held.push(resolve));
  }

  /** Holds the node's timers (and, through the simulator's gates, its message handling). */
  pause(): void {
    this.#paused = true;
  }

  /** Resumes the node: held timers fire now, in the order they came due. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const fn of this.#held.splice(0)) if (this.#alive) fn();
  }

  /** Kills the incarnation: its pending and future timers never fire. */
  kill(): void {
    this.#alive = false;
    this.#held.length = 0;
  }
}
