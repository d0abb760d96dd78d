/**
 * Client history recording for the simulators, in the format of `@flotilla/testkit`'s
 * linearizability checker (`Operation<I, O>` over its register model): every client operation is
 * a write of a unique value or a read through the log; an operation whose proposing leader lost
 * leadership or crashed before applying it keeps `return: Infinity` (unknown outcome).
 */
import {
  checkLinearizability,
  type RegisterInput,
  type RegisterOutput,
  registerModel,
  type Operation as TkOperation,
} from '@flotilla/testkit';

export type { RegisterInput, RegisterOutput };
/** One recorded client operation. */
export type Operation = TkOperation<RegisterInput, RegisterOutput>;

/**
 * Checks `history` for linearizability: 'ok', 'illegal' (with an explanation) or 'unknown' when the
 * search budget (`maxMs`) ran out.
 */
export function checkHistory(
  history: readonly Operation[],
  maxMs = 2000,
): { result: string; explanation?: string } {
  const v = checkLinearizability(registerModel(), history, { maxMs });
  return v.result === 'illegal'
    ? { result: v.result, explanation: v.explanation ?? 'illegal history' }
    : { result: v.result };
}
