/**
 * Owns the linearizability check end to end (`checkLinearizability`): validating the history and
 * options, partitioning it, searching each part smallest first under one budget, and shrinking an
 * illegal part to its smallest failing prefix. The search is `search.ts`'s and the wording
 * `explain.ts`'s; must never answer `ok` for a part the budget cut short: that is `unknown`.
 */
import { InvalidConfigError, InvalidRequestError } from '@flotilla/types';
import { explainIllegal, explainUnknown } from './explain.ts';
import { isPending, Meter, searchLinearization } from './search.ts';
import type { CheckOptions, History, Model, Operation, Verdict, Violation } from './types.ts';
import { UNKNOWN } from './types.ts';

/**
 * Checks whether a client history is linearizable with respect to a sequential model.
 *
 * The history is split with `model.partition` (if any) and each part is searched with Wing &
 * Gong's algorithm and Lowe's memoization; operations with an unknown outcome may take effect at
 * any point after their call, or never. The search stops at the budget (`maxSteps`, `maxMs`) and
 * then answers `'unknown'` instead of running on. On `'illegal'`, the verdict names the offending
 * part, its smallest failing prefix and the longest linearization found, in `explanation` and
 * `violation`. Parts are searched smallest first, so the part reported is the smallest illegal one.
 *
 * @param model - the sequential specification.
 * @param history - the operations, in any order.
 * @param options - budget and explanation options.
 * @returns the verdict.
 * @throws InvalidRequestError (`INVALID_REQUEST`) when an operation's times are malformed.
 * @throws InvalidConfigError (`INVALID_CONFIG`) when an option is out of range, or when
 *   `model.partition` loses or invents operations.
 *
 * @example
 * ```ts
 * const verdict = checkLinearizability(registerModel(), [
 *   { clientId: 1, input: { kind: 'write', value: 1 }, output: { ok: true }, call: 0, return: 2 },
 *   { clientId: 2, input: { kind: 'read' }, output: { ok: true, value: 1 }, call: 3, return: 4 },
 * ]);
 * // verdict.result === 'ok'
 * ```
 */
export function checkLinearizability<S, I, O>(
  model: Model<S, I, O>,
  history: History<I, O>,
  options: CheckOptions = {},
): Verdict<I, O> {
  const now = options.now ?? (() => performance.now());
  const maxSteps = checkLimit('maxSteps', options.maxSteps);
  const maxMs = checkLimit('maxMs', options.maxMs);
  const maxListed = checkLimit('maxExplainedOperations', options.maxExplainedOperations ?? 30);
  validateHistory(history);

  const started = now();
  const meter = new Meter(maxSteps, started + maxMs, now);
  const parts = model.partition === undefined ? [history.slice()] : model.partition(history);
  checkPartition(history, parts);
  // Small parts first: an illegal verdict comes sooner, and the budget goes to the big ones last.
  const order = parts.map((_, i) => i).sort((a, b) => (parts[a]?.length ?? 0) - (parts[b]?.length ?? 0));

  for (const index of order) {
    const part = parts[index] as Operation<I, O>[];
    const outcome = searchLinearization(model, part, meter);
    if (outcome.kind === 'ok') continue;
    const partName = model.describePartition?.(part);
    if (outcome.kind === 'unknown') {
      return {
        result: 'unknown',
        explanation: explainUnknown({
          steps: meter.steps,
          elapsedMs: now() - started,
          partIndex: index,
          partCount: parts.length,
          partName,
          partSize: part.length,
        }),
        steps: meter.steps,
        elapsedMs: now() - started,
      };
    }
    const found = minimize(model, part, outcome.longest, meter, options.minimize ?? true);
    const violation: Violation<I, O> = {
      partIndex: index,
      partCount: parts.length,
      ...(partName === undefined ? {} : { partName }),
      prefix: found.prefix,
      culprit: found.culprit,
      minimal: found.minimal,
      longestLinearization: found.longest,
    };
    return {
      result: 'illegal',
      explanation: explainIllegal(model, violation, maxListed),
      violation,
      steps: meter.steps,
      elapsedMs: now() - started,
    };
  }
  return { result: 'ok', steps: meter.steps, elapsedMs: now() - started };
}

/** Every operation of the history must land in exactly one part. */
function checkPartition<I, O>(history: History<I, O>, parts: readonly (readonly Operation<I, O>[])[]): void {
  const unseen = new Set(history);
  for (const part of parts) {
    for (const op of part) {
      if (!unseen.delete(op)) {
        throw new InvalidConfigError(
          'model.partition',
          'returned an operation twice or one not in the history',
        );
      }
    }
  }
  if (unseen.size > 0) {
    throw new InvalidConfigError('model.partition', `lost ${unseen.size} of ${history.length} operations`);
  }
}

function checkLimit(field: string, value: number | undefined): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new InvalidConfigError(field, `must be a non-negative number, got ${String(value)}`);
  }
  return value;
}

function validateHistory(history: History<unknown, unknown>): void {
  if (!Array.isArray(history)) throw new InvalidRequestError('history', 'must be an array of operations');
  for (let i = 0; i < history.length; i++) {
    const op = history[i] as Operation<unknown, unknown> | undefined;
    if (typeof op !== 'object' || op === null) {
      throw new InvalidRequestError(`history[${i}]`, 'must be an operation object');
    }
    if (typeof op.call !== 'number' || !Number.isFinite(op.call)) {
      throw new InvalidRequestError(`history[${i}].call`, `must be a finite number, got ${String(op.call)}`);
    }
    if (typeof op.return !== 'number' || Number.isNaN(op.return) || op.return < op.call) {
      throw new InvalidRequestError(
        `history[${i}].return`,
        `must be a number >= call (${op.call}) or Infinity, got ${String(op.return)}`,
      );
    }
  }
}

interface Found<I, O> {
  prefix: Operation<I, O>[];
  culprit: Operation<I, O>;
  minimal: boolean;
  longest: Operation<I, O>[];
}

/**
 * Finds the smallest failing prefix of an illegal part by binary search. A prefix ends at a return
 * event; operations called before it are kept, and those that had not returned yet become pending.
 * Prefixes of a linearizable history are linearizable, so "fails" is monotone in the prefix length.
 */
function minimize<S, I, O>(
  model: Model<S, I, O>,
  part: Operation<I, O>[],
  fullLongest: number[],
  meter: Meter,
  enabled: boolean,
): Found<I, O> {
  // The operations with a known outcome, ordered like the search orders their return events.
  const returns = part
    .map((op, i) => ({ op, i }))
    .filter(({ op }) => !isPending(op))
    .sort((a, b) => a.op.return - b.op.return || a.i - b.i);
  const prefixAt = (j: number): { ops: Operation<I, O>[]; orig: Operation<I, O>[] } => {
    const end = returns[j] as { op: Operation<I, O>; i: number };
    const ops: Operation<I, O>[] = [];
    const orig: Operation<I, O>[] = [];
    for (let i = 0; i < part.length; i++) {
      const op = part[i] as Operation<I, O>;
      // A call at the same time as the return event comes before it (touching intervals overlap).
      if (op.call > end.op.return) continue;
      const returned =
        !isPending(op) && (op.return < end.op.return || (op.return === end.op.return && i <= end.i));
      ops.push(returned ? op : { ...op, output: UNKNOWN, return: Number.POSITIVE_INFINITY });
      orig.push(op);
    }
    return { ops, orig };
  };

  let hi = returns.length - 1;
  let hiLongest: Operation<I, O>[] = fullLongest.map((k) => part[k] as Operation<I, O>);
  let minimal = true;
  if (enabled) {
    let lo = 0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const { ops, orig } = prefixAt(mid);
      const outcome = searchLinearization(model, ops, meter);
      if (outcome.kind === 'unknown') {
        minimal = false;
        break;
      }
      if (outcome.kind === 'ok') {
        lo = mid + 1;
      } else {
        hi = mid;
        hiLongest = outcome.longest.map((k) => orig[k] as Operation<I, O>);
      }
    }
  } else {
    minimal = false;
  }
  const { orig } = prefixAt(hi);
  const culprit = (returns[hi] as { op: Operation<I, O> }).op;
  return { prefix: orig, culprit, minimal, longest: hiLongest };
}
