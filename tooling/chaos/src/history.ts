/**
 * The recorded client history: every operation the workload issued, with its invoke and
 * completion times (ms since the run started), the node it went to and its outcome. Outcomes are
 * `ok`, `fail` (it certainly did not take effect) or `unknown` (it may have, at any time after its
 * invocation: timeouts, dropped connections, `OutcomeUnknown`); unknown operations are kept, never
 * dropped. Converts to the checker's history. No I/O.
 */
import { type Operation, UNKNOWN } from '@flotilla/testkit';
import type { ChaosInput, ChaosOutput } from './model.ts';

/**
 * What an operation did: a linearizable read, a set, a compare-and-set, a set of a fresh key, or an
 * append (of a unique `;`-terminated token) to a key only ever appended to.
 */
export type OpKind = 'read' | 'write' | 'cas' | 'insert' | 'append';

/** Every operation kind, in report order. */
export const OP_KINDS: readonly OpKind[] = ['read', 'write', 'cas', 'insert', 'append'];

/** How an operation ended. */
export type Outcome = 'ok' | 'fail' | 'unknown';

/** One recorded operation. */
export interface RecordedOp {
  /** Sequence number, in invocation order. */
  readonly id: number;
  /** The client (worker) that issued it; `final@<node>` for the reads after convergence. */
  readonly client: number | string;
  /** The kind. */
  readonly kind: OpKind;
  /** The key. */
  readonly key: string;
  /** Value written (write, cas, insert). */
  readonly value?: string;
  /** Expected value (cas; `null`: absent). */
  readonly expected?: string | null;
  /** Node id the request was sent to. */
  readonly node: number;
  /** Invocation time, ms since the run started. */
  readonly invokeMs: number;
  /** Completion time, or `null` while in flight (and for unknown outcomes never answered). */
  completeMs: number | null;
  /** The outcome; `null` while in flight. */
  outcome: Outcome | null;
  /** What it answered when `ok`: the value (read; cas, append: the value afterwards), applied (cas). */
  result?: { value?: string | null; applied?: boolean; logIndex?: number };
  /** The exactly-once session it was sent under (`client_id`, `sequence`), when kv has sessions. */
  session?: { client_id: string; sequence: number };
  /** Requests sent for it (> 1 when an unknown outcome was retried under its session). */
  attempts?: number;
  /** Why it failed or is unknown. */
  error?: string;
}

/** What an operation is about to do. */
export type OpRequest = Pick<RecordedOp, 'client' | 'kind' | 'key' | 'node'> & {
  readonly value?: string;
  readonly expected?: string | null;
  readonly session?: { client_id: string; sequence: number };
};

/** Records operations; times come from the injected clock (ms). */
export class HistoryRecorder {
  readonly #ops: RecordedOp[] = [];
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Records the invocation of an operation; returns the record to complete. */
  invoke(req: OpRequest): RecordedOp {
    const op: RecordedOp = {
      id: this.#ops.length,
      ...req,
      invokeMs: this.#now(),
      completeMs: null,
      outcome: null,
    };
    this.#ops.push(op);
    return op;
  }

  /** Records how `op` ended. Completing twice is a bug and throws. */
  complete(op: RecordedOp, outcome: Outcome, result?: RecordedOp['result'], error?: string): void {
    if (op.outcome !== null) throw new Error(`operation ${op.id} completed twice`);
    op.outcome = outcome;
    op.completeMs = outcome === 'unknown' ? null : this.#now();
    if (result !== undefined) op.result = result;
    if (error !== undefined) op.error = error;
  }

  /** Marks every operation still in flight as unknown (the run ended before it was answered). */
  closeInFlight(): number {
    let n = 0;
    for (const op of this.#ops) {
      if (op.outcome === null) {
        this.complete(op, 'unknown', undefined, 'still in flight when the run ended');
        n++;
      }
    }
    return n;
  }

  /** Every operation, in invocation order. */
  get ops(): readonly RecordedOp[] {
    return this.#ops;
  }
}

/** Counts of operations by kind and outcome. */
export type OpCounts = Record<OpKind, Record<Outcome, number>>;

/** Counts `ops` by kind and outcome (in-flight operations count as unknown). */
export function countOps(ops: readonly RecordedOp[]): OpCounts {
  const counts = Object.fromEntries(OP_KINDS.map((k) => [k, { ok: 0, fail: 0, unknown: 0 }])) as OpCounts;
  for (const op of ops) counts[op.kind][op.outcome ?? 'unknown']++;
  return counts;
}

/** The checker's input for one recorded operation. */
export function toInput(op: RecordedOp): ChaosInput {
  switch (op.kind) {
    case 'read':
      return { kind: 'get', key: op.key };
    case 'write':
    case 'insert':
      return { kind: 'set', key: op.key, value: op.value ?? '' };
    case 'cas':
      return { kind: 'cas', key: op.key, expected: op.expected ?? null, value: op.value ?? '' };
    case 'append':
      return { kind: 'append', key: op.key, value: op.value ?? '' };
  }
}

/**
 * The checker's history: failed operations are left out (they had no effect), unknown ones (and
 * any still in flight) have an unknown output and no return.
 */
export function toCheckerHistory(ops: readonly RecordedOp[]): Operation<ChaosInput, ChaosOutput>[] {
  const out: Operation<ChaosInput, ChaosOutput>[] = [];
  for (const op of ops) {
    if (op.outcome === 'fail') continue;
    const input = toInput(op);
    if (op.outcome === 'ok' && op.completeMs !== null) {
      const output: ChaosOutput =
        op.kind === 'read' || op.kind === 'append'
          ? { value: op.result?.value ?? null }
          : op.kind === 'cas'
            ? { applied: op.result?.applied === true, value: op.result?.value ?? null }
            : {};
      out.push({ clientId: op.client, input, output, call: op.invokeMs, return: op.completeMs });
    } else {
      out.push({ clientId: op.client, input, output: UNKNOWN, call: op.invokeMs, return: Infinity });
    }
  }
  return out;
}
