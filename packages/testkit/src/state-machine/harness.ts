import type { ApplyEntry, Membership, RaftStateMachine } from '@flotilla/types';

/** How the state-machine suite gets and disposes of the state machine under test. */
export interface StateMachineHarness<D, R> {
  /** A fresh state machine with nothing applied. */
  setup(): Promise<RaftStateMachine<D, R>>;
  /** Disposes of a state machine. */
  teardown?(sm: RaftStateMachine<D, R>): Promise<void>;
  /**
   * The test command number `sequence` (0, 1, 2, …). Commands must be order-sensitive: applying
   * `command(0..n)` in two different orders must give different responses (e.g. "append the
   * number to a list, answer the list length and last item"), so that the suite can notice entries
   * applied out of order.
   */
  command(sequence: number): D;
  /**
   * A comparable picture of the application state (compared with deep equality), used to check that
   * snapshots carry the whole state. Defaults to comparing responses of later commands only.
   */
  digest?(sm: RaftStateMachine<D, R>): Promise<unknown>;
  /**
   * The state machine offers `beginReceivingSnapshot`: the suite then checks that a snapshot spooled
   * through it installs the same as one streamed directly, and that a discarded one changes nothing.
   */
  receivesSnapshots?: boolean;
}

/** Normal entries `[from, to)` of `term` carrying `command(i)`. */
export function commandEntries<D>(
  harness: Pick<StateMachineHarness<D, unknown>, 'command'>,
  term: number,
  from: number,
  to: number,
): ApplyEntry<D>[] {
  const out: ApplyEntry<D>[] = [];
  for (let i = from; i < to; i++)
    out.push({ logId: { term, index: i }, payload: { type: 'normal', data: harness.command(i) } });
  return out;
}

/** A membership entry. */
export function membershipApplyEntry<D>(term: number, index: number, membership: Membership): ApplyEntry<D> {
  return { logId: { term, index }, payload: { type: 'membership', membership } };
}

/** A blank entry. */
export function blankApplyEntry<D>(term: number, index: number): ApplyEntry<D> {
  return { logId: { term, index }, payload: { type: 'blank' } };
}
