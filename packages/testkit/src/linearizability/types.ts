/**
 * The marker output of an operation whose outcome is unknown (a client timed out, a connection
 * dropped): the operation may have taken effect at any point after its call, or never.
 */
export const UNKNOWN: unique symbol = Symbol.for('@flotilla/testkit/linearizability/unknown');

/** The type of {@link UNKNOWN}. */
export type Unknown = typeof UNKNOWN;

/**
 * One client operation of a history.
 *
 * Times are any totally ordered numbers (wall-clock ms, a logical counter, a line number); only
 * their order matters. Two operations whose intervals touch (`a.return === b.call`) count as
 * concurrent.
 *
 * An operation has an unknown outcome when `return` is `Infinity` or `output` is {@link UNKNOWN}
 * (both mean the same thing; the other field is then ignored): it may take effect at any point after
 * its call, or not at all, and any output is accepted.
 */
export interface Operation<I, O> {
  /** The client (process) that issued the operation; only used in explanations. */
  readonly clientId: number | string;
  /** What the client asked for. */
  readonly input: I;
  /** What the client was told, or {@link UNKNOWN}. */
  readonly output: O | Unknown;
  /** When the client issued the call. Finite. */
  readonly call: number;
  /** When the client got the answer (`>= call`), or `Infinity` when the outcome is unknown. */
  readonly return: number;
}

/** A client history: operations in any order. */
export type History<I, O> = readonly Operation<I, O>[];

/**
 * A sequential specification: what a single, correct copy of the object would answer.
 *
 * `step` must be pure and deterministic: the checker calls it many times with the same arguments
 * and caches states. When `output` is {@link UNKNOWN}, `step` must accept (`ok = true`) and return
 * the state the operation produces if it takes effect at that point.
 *
 * @typeParam S - the state; never mutated by the checker, and `step` must not mutate it either.
 * @typeParam I - operation inputs.
 * @typeParam O - operation outputs.
 */
export interface Model<S, I, O> {
  /** The initial state. */
  init(): S;
  /**
   * Applies `input` to `state`: `ok` says whether `output` is what a correct object in `state`
   * could answer; `next` is the resulting state (ignored when `ok` is false).
   */
  step(state: S, input: I, output: O | Unknown): readonly [ok: boolean, next: S];
  /** Whether two states are the same (used by the memoization cache). */
  equal(a: S, b: S): boolean;
  /**
   * An optional 32-bit hash of a state, consistent with `equal`; it sharpens the cache's buckets.
   * Without it, states sharing a linearized set are compared one by one.
   */
  hash?(state: S): number;
  /**
   * Splits a history into independent parts that are checked separately (linearizability is
   * compositional: a history is linearizable iff each part is). Every operation must land in
   * exactly one part. Without it, the history is one part.
   */
  partition?(history: History<I, O>): Operation<I, O>[][];
  /** Names a part returned by `partition` in explanations (e.g. `key "7"`). */
  describePartition?(part: History<I, O>): string;
  /** Renders one operation for explanations, e.g. `cas(1→2) ok`. */
  describe(input: I, output: O | Unknown): string;
  /** Renders a state for explanations. */
  describeState?(state: S): string;
}

/** Limits on the search; past either one the verdict is `'unknown'`. */
export interface CheckBudget {
  /**
   * Maximum number of search steps over the whole history (each step tries or undoes one
   * operation). Each step adds at most one memo entry, so this also bounds memory; unlike `maxMs`
   * it makes the verdict independent of machine load.
   */
  readonly maxSteps?: number;
  /** Maximum wall-clock time in milliseconds over the whole history. */
  readonly maxMs?: number;
}

/** Options of {@link checkLinearizability}. */
export interface CheckOptions extends CheckBudget {
  /**
   * When the history is illegal, search the smallest failing prefix of the offending part for the
   * explanation (a few more searches, within the same budget). Default `true`.
   */
  readonly minimize?: boolean;
  /** At most this many operations are listed per section of an explanation. Default 30. */
  readonly maxExplainedOperations?: number;
  /** The clock used for `maxMs`, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

/** The result of a check. */
export type CheckResult = 'ok' | 'illegal' | 'unknown';

/** Details of an illegal history: the smallest failing part that was found. */
export interface Violation<I, O> {
  /** Index of the offending part in the model's partition (0 when not partitioned). */
  readonly partIndex: number;
  /** Number of parts. */
  readonly partCount: number;
  /** The part's name from `describePartition`, if any. */
  readonly partName?: string;
  /**
   * The smallest failing prefix of the part: operations called before the culprit returned.
   * Operations that had not returned by then are pending (their output counts as unknown).
   */
  readonly prefix: Operation<I, O>[];
  /** The operation whose return made the prefix non-linearizable. */
  readonly culprit: Operation<I, O>;
  /** Whether the prefix is proved smallest (false when the budget ran out while minimizing). */
  readonly minimal: boolean;
  /** The longest sequence of the prefix's operations that the search could linearize, in order. */
  readonly longestLinearization: Operation<I, O>[];
}

/** The verdict of {@link checkLinearizability}. */
export interface Verdict<I = unknown, O = unknown> {
  /** `'ok'`: linearizable; `'illegal'`: not linearizable; `'unknown'`: the budget ran out. */
  readonly result: CheckResult;
  /** A human-readable explanation (always set for `'illegal'` and `'unknown'`). */
  readonly explanation?: string;
  /** Set when `result` is `'illegal'`. */
  readonly violation?: Violation<I, O>;
  /** Search steps used, including minimization. */
  readonly steps: number;
  /** Wall-clock milliseconds used. */
  readonly elapsedMs: number;
}
