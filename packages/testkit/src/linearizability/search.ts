/**
 * Owns the search itself: Wing & Gong's algorithm with Lowe's memoization over one validated
 * history, and the budget (`Meter`: steps and a deadline) all searches of a check share. Must never
 * validate input or word a verdict (`check.ts` and `explain.ts` do), and never run past an exhausted
 * budget.
 */
import type { Model, Operation } from './types.ts';
import { UNKNOWN } from './types.ts';

/**
 * Counts search steps against a budget shared by every search of one check.
 * Invariant: `steps` only grows; once `exhausted` is true it stays true.
 */
export class Meter {
  /** Steps used so far. */
  steps = 0;
  /** Whether a limit was hit. */
  exhausted = false;
  readonly #maxSteps: number;
  readonly #deadline: number;
  readonly #now: () => number;
  /** Step count at which the clock is read next (reading it every step would dominate). */
  #nextClockCheck = 0;

  /**
   * @param maxSteps - step limit (`Infinity` for none).
   * @param deadline - clock value past which the search stops (`Infinity` for none).
   * @param now - the clock.
   */
  constructor(maxSteps: number, deadline: number, now: () => number) {
    this.#maxSteps = maxSteps;
    this.#deadline = deadline;
    this.#now = now;
  }

  /** Counts one step; returns false (and latches `exhausted`) when a limit is hit. */
  tick(): boolean {
    this.steps++;
    if (this.steps > this.#maxSteps) {
      this.exhausted = true;
      return false;
    }
    if (this.steps >= this.#nextClockCheck) {
      this.#nextClockCheck = this.steps + 1024;
      if (this.#now() > this.#deadline) {
        this.exhausted = true;
        return false;
      }
    }
    return true;
  }
}

/** What one search found. */
export type SearchOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'unknown' }
  /** `longest`: indices (into the searched operations) of the longest linearization found, in order. */
  | { readonly kind: 'illegal'; readonly longest: number[] };

/** A 32-bit mixing function (the finalizer of MurmurHash3). */
function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Lowe's memo: the set of (linearized-set, state) pairs already explored. Reaching the same pair
 * again cannot lead anywhere new, so the search backtracks instead.
 *
 * A chained hash table over flat typed arrays: entry `k` owns `bits[k·words … (k+1)·words)`, its
 * key `keys[k]`, its state `states[k]` and the next entry of its chain `chain[k]` (−1 ends it), so
 * adding an entry allocates nothing but the occasional doubling.
 */
class Memo<S> {
  readonly #words: number;
  readonly #equal: (a: S, b: S) => boolean;
  readonly #hash: ((s: S) => number) | undefined;
  #heads = new Int32Array(1024).fill(-1);
  #keys = new Uint32Array(1024);
  #chain = new Int32Array(1024);
  #bits: Uint32Array;
  readonly #states: S[] = [];
  #count = 0;

  constructor(words: number, equal: (a: S, b: S) => boolean, hash: ((s: S) => number) | undefined) {
    this.#words = words;
    this.#equal = equal;
    this.#hash = hash;
    this.#bits = new Uint32Array(1024 * words);
  }

  /** Adds the pair; returns false when it was already there. */
  add(bitsHash: number, bits: Uint32Array, state: S): boolean {
    const key = this.#hash === undefined ? bitsHash : (bitsHash ^ mix32(this.#hash(state))) >>> 0;
    const words = this.#words;
    const pool = this.#bits;
    for (
      let k = this.#heads[key & (this.#heads.length - 1)] as number;
      k !== -1;
      k = this.#chain[k] as number
    ) {
      if (this.#keys[k] !== key) continue;
      let same = true;
      for (let w = 0, at = k * words; w < words; w++, at++) {
        if (pool[at] !== bits[w]) {
          same = false;
          break;
        }
      }
      if (same && this.#equal(this.#states[k] as S, state)) return false;
    }
    const k = this.#count++;
    if (k === this.#keys.length) this.#grow();
    this.#keys[k] = key;
    this.#bits.set(bits, k * words);
    this.#states.push(state);
    const slot = key & (this.#heads.length - 1);
    this.#chain[k] = this.#heads[slot] as number;
    this.#heads[slot] = k;
    return true;
  }

  /** Doubles every array and rehashes the chains. */
  #grow(): void {
    const size = this.#keys.length * 2;
    const keys = new Uint32Array(size);
    keys.set(this.#keys);
    this.#keys = keys;
    const bits = new Uint32Array(size * this.#words);
    bits.set(this.#bits);
    this.#bits = bits;
    this.#chain = new Int32Array(size);
    this.#heads = new Int32Array(size).fill(-1);
    const mask = size - 1;
    for (let k = 0; k < this.#count - 1; k++) {
      const slot = (keys[k] as number) & mask;
      this.#chain[k] = this.#heads[slot] as number;
      this.#heads[slot] = k;
    }
  }
}

/** Whether the operation's outcome is unknown (it never has to be linearized). */
export function isPending(op: Operation<unknown, unknown>): boolean {
  return op.return === Number.POSITIVE_INFINITY || op.output === UNKNOWN;
}

/**
 * Wing & Gong's search with Lowe's memoization over one (already validated) history.
 *
 * The history becomes a doubly linked list of call and return events in time order (calls before
 * returns at equal times, so touching intervals are concurrent; operations with an unknown outcome
 * have no return event). The search repeatedly linearizes a call that precedes the first remaining
 * return, removing the operation's events from the list (dancing links); when it meets a return
 * whose operation is not linearized yet, it undoes the last choice. It succeeds once every
 * operation with a known outcome is linearized.
 */
export function searchLinearization<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  meter: Meter,
): SearchOutcome {
  const n = ops.length;
  // ---- events, sorted: index e < n is a call of op e; e >= n is the return of op e - n.
  const events: number[] = [];
  for (let i = 0; i < n; i++) {
    events.push(i);
    if (!isPending(ops[i] as Operation<I, O>)) events.push(n + i);
  }
  const time = (e: number): number => {
    const op = ops[e < n ? e : e - n] as Operation<I, O>;
    return e < n ? op.call : op.return;
  };
  events.sort((a, b) => {
    const ta = time(a);
    const tb = time(b);
    if (ta !== tb) return ta - tb;
    const ca = a < n ? 0 : 1;
    const cb = b < n ? 0 : 1;
    return ca !== cb ? ca - cb : a - b;
  });

  // ---- the linked list over event ids; HEAD is a sentinel, -1 is the end.
  const HEAD = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = HEAD;
  for (const e of events) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  const hasReturn = new Uint8Array(n);
  let remaining = 0; // operations with a known outcome not yet linearized
  for (let i = 0; i < n; i++) {
    if (!isPending(ops[i] as Operation<I, O>)) {
      hasReturn[i] = 1;
      remaining++;
    }
  }
  const unlink = (e: number): void => {
    const p = prev[e] as number;
    const x = next[e] as number;
    next[p] = x;
    if (x !== -1) prev[x] = p;
  };
  const relink = (e: number): void => {
    const p = prev[e] as number;
    const x = next[e] as number;
    next[p] = e;
    if (x !== -1) prev[x] = e;
  };

  // ---- Zobrist hashing of the linearized set: O(1) updates.
  const zobrist = new Uint32Array(n);
  for (let i = 0; i < n; i++) zobrist[i] = mix32(i * 0x9e3779b9 + 0x7f4a7c15);
  const bits = new Uint32Array((n >>> 5) + 1);
  let bitsHash = 0;
  const memo = new Memo<S>(
    bits.length,
    (a, b) => model.equal(a, b),
    model.hash === undefined ? undefined : (s) => (model.hash as (s: S) => number)(s),
  );

  // ---- the stack of linearized operations and the states before each.
  const stackOp = new Int32Array(n);
  const stackState: S[] = [];
  let depth = 0;
  let longest: number[] = [];
  let state = model.init();
  let entry = next[HEAD] as number;

  while (remaining > 0) {
    if (!meter.tick()) return { kind: 'unknown' };
    if (entry === -1) throw new Error('linearizability search: ran off the event list (bug)');
    if (entry < n) {
      const op = ops[entry] as Operation<I, O>;
      const output = hasReturn[entry] === 1 ? op.output : UNKNOWN;
      const [ok, nextState] = model.step(state, op.input, output);
      if (ok) {
        const word = entry >>> 5;
        const mask = 1 << (entry & 31);
        bits[word] = (bits[word] as number) | mask;
        const newHash = (bitsHash ^ (zobrist[entry] as number)) >>> 0;
        if (memo.add(newHash, bits, nextState)) {
          stackOp[depth] = entry;
          stackState[depth] = state;
          depth++;
          if (depth > longest.length) longest = Array.from(stackOp.subarray(0, depth));
          state = nextState;
          bitsHash = newHash;
          unlink(entry);
          if (hasReturn[entry] === 1) {
            unlink(n + entry);
            remaining--;
          }
          entry = next[HEAD] as number;
          continue;
        }
        bits[word] = (bits[word] as number) & ~mask;
      }
      entry = next[entry] as number;
    } else {
      // A return whose operation is not linearized: undo the most recent choice.
      if (depth === 0) return { kind: 'illegal', longest };
      depth--;
      const undo = stackOp[depth] as number;
      state = stackState[depth] as S;
      bits[undo >>> 5] = (bits[undo >>> 5] as number) & ~(1 << (undo & 31));
      bitsHash = (bitsHash ^ (zobrist[undo] as number)) >>> 0;
      if (hasReturn[undo] === 1) {
        relink(n + undo);
        remaining++;
      }
      relink(undo);
      entry = next[undo] as number;
    }
  }
  return { kind: 'ok' };
}
