/**
 * Fixtures the suites build their cases from, published under `@flotilla/testkit/testing` for
 * anyone writing more cases of their own: entries whose data encodes their id, sample votes and
 * memberships, a flush-callback probe, typed-rejection and deadline checks, a seeded PRNG.
 * Must never register tests or depend on vitest: they are plain values and functions.
 */
import { type Entry, type ErrorCode, hasErrorCode, type Membership, type Vote } from '@flotilla/types';

/** A small deterministic PRNG (mulberry32) for suites that generate random operation sequences. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rejects with `message` when `promise` does not settle within `ms` milliseconds. */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (after ${ms} ms)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bytes that identify `(term, index)`, so a mixed-up entry is noticed. */
export function dataFor(term: number, index: number, size = 8): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (term * 31 + index * 7 + i) & 0xff;
  return out;
}

/** A normal entry whose data encodes its own log id. */
export function entryAt(term: number, index: number, size = 8): Entry {
  return { logId: { term, index }, payload: { type: 'normal', data: dataFor(term, index, size) } };
}

/** Consecutive normal entries `[from, to)` of one term. */
export function entriesOf(term: number, from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i < to; i++) out.push(entryAt(term, i));
  return out;
}

/** A three-voter membership used by the suites. */
export function sampleMembership(ids: readonly string[] = ['n1', 'n2', 'n3']): Membership {
  const nodes: Membership['nodes'] = {};
  for (const id of ids) nodes[id] = { addr: `${id}:1` };
  return { configs: [[...ids]], nodes };
}

/** A committed (leader) vote. */
export function leaderVote(term: number, nodeId = 'n1'): Vote {
  return { term, nodeId, committed: true };
}

/**
 * Awaits `promise` and checks that it rejects with a Flotilla error carrying `code`; returns that
 * error. Throws an explanatory error when `promise` resolves or rejects with something else.
 */
export async function expectRejectCode(
  promise: Promise<unknown>,
  code: ErrorCode,
  what: string,
): Promise<Error> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    if (!hasErrorCode(err, code)) {
      const got = hasErrorCode(err) ? err.code : String(err);
      throw new Error(`${what}: expected an error with code ${code}, got ${got}`, { cause: err });
    }
    return err;
  }
  throw new Error(`${what}: expected a rejection with code ${code}, but it resolved to ${String(value)}`);
}

/** Records the calls of an `IoFlushed` callback and lets a case await the first one. */
export class FlushProbe {
  /** How many times the callback ran. */
  calls = 0;
  /** The errors it was given (`undefined` for a success). */
  readonly errors: (Error | undefined)[] = [];
  /** The order number of this probe's first call among all probes sharing `order` (if any). */
  firstCallAt = -1;
  readonly #flushed: Promise<void>;
  #resolve!: () => void;
  readonly #order: { n: number } | undefined;

  constructor(order?: { n: number }) {
    this.#order = order;
    this.#flushed = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** The callback to pass to `append` as its `onFlushed`. */
  readonly onFlushed = (err?: Error): void => {
    this.calls++;
    this.errors.push(err);
    if (this.firstCallAt < 0 && this.#order !== undefined) this.firstCallAt = this.#order.n++;
    this.#resolve();
  };

  /** Resolves once the callback ran, throws if it ran with an error or not within `ms`. */
  async flushed(ms = 5_000): Promise<void> {
    await within(this.#flushed, ms, 'the flush callback was not called');
    const err = this.errors[0];
    if (err !== undefined) throw new Error('the flush callback reported an error', { cause: err });
  }
}

/** FNV-1a hash of bytes, for comparing large buffers quickly. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A deep copy of `x` with every `Uint8Array` replaced by `bytes(<length>:<hash>)`, so that large
 * messages compare with `toEqual` quickly (deep equality on big byte arrays is slow).
 */
export function summarizeBytes(x: unknown): unknown {
  if (x instanceof Uint8Array) return `bytes(${x.byteLength}:${fnv1a(x)})`;
  if (Array.isArray(x)) return x.map(summarizeBytes);
  if (x !== null && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = summarizeBytes(v);
    return out;
  }
  return x;
}
