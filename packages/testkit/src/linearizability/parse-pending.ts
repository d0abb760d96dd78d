/**
 * What both history parsers share: the calls read but not completed, and turning those still pending
 * at the end into operations with an `UNKNOWN` outcome. Must never read text itself.
 */
import type { Operation } from './types.ts';
import { UNKNOWN } from './types.ts';

/** A call that a history parser has read and whose completion it has not seen (yet). */
export interface PendingCall<I> {
  /** The process that made the call. */
  readonly clientId: number;
  /** What it asked for. */
  readonly input: I;
  /** When it called (a line number). */
  readonly call: number;
  /** Where its operation goes in the parser's list of operations (call order). */
  readonly slot: number;
}

/**
 * Fills the slot of every call still pending when its history ends with an operation whose outcome
 * is unknown: it may have taken effect at any point after its call, or never.
 *
 * @param ops - the parser's operations, indexed by {@link PendingCall.slot}; written in place.
 * @param pending - the calls that never completed.
 */
export function settlePendingAsUnknown<I, O>(
  ops: (Operation<I, O> | null | undefined)[],
  pending: Iterable<PendingCall<I>>,
): void {
  for (const p of pending) {
    ops[p.slot] = {
      clientId: p.clientId,
      input: p.input,
      output: UNKNOWN,
      call: p.call,
      return: Number.POSITIVE_INFINITY,
    };
  }
}
