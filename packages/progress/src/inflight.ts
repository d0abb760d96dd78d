/**
 * What is in flight to one target (`Inflight`), the ids that tell a current reply from a stale one
 * (`InflightIdGen`, one per node so an id never repeats) and the outcome of feeding a reply
 * (`UpdateResult`). Values only: it must never change a progress (that is `ProgressEntry`'s).
 */
import type { LogId } from '@flotilla/types';

/**
 * Hands out inflight ids. Keep one per node (not per target): every new {@link Inflight} takes
 * the next id, so an id never repeats on a node and a reply carrying an old id is recognisably
 * stale even after the target's progress was rebuilt.
 */
export class InflightIdGen {
  #last: number;

  /** @param start - the id before the first one handed out (default 0, so the first id is 1). */
  constructor(start = 0) {
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new RangeError(`InflightIdGen start must be a non-negative safe integer, got ${start}`);
    }
    this.#last = start;
  }

  /** The next id: strictly greater than every id handed out before. */
  next(): number {
    this.#last += 1;
    return this.#last;
  }

  /** The last id handed out (the `start` value before the first call). */
  peek(): number {
    return this.#last;
  }
}

/**
 * What the leader has sent to one target and not yet heard back about.
 *
 * - `none`: nothing in flight; the next `nextSend` may send.
 * - `logs`: one AppendEntries carrying the entries `(prev, last]`: a binary-search probe or a
 *   catch-up batch. `last === prev` (same log id) is an empty probe.
 * - `logsSince`: pipeline mode, an open-ended stream of every entry after `prev`; `prev` moves
 *   forward as acks arrive and the stream stays open until it fails, conflicts or is released.
 * - `snapshot`: a snapshot is being installed on the target.
 */
export type Inflight =
  | { type: 'none' }
  | { type: 'logs'; id: number; prev: LogId | null; last: LogId | null }
  | { type: 'logsSince'; id: number; prev: LogId | null }
  | { type: 'snapshot'; id: number };

/** The one `none` inflight (frozen, safe to share). */
export const INFLIGHT_NONE: Inflight = Object.freeze({ type: 'none' }) as Inflight;

/**
 * Outcome of feeding a reply to a {@link ProgressEntry}: `updated` when it changed (or confirmed)
 * the progress, `stale` when its inflight id is not the current one (or nothing is in flight) and
 * nothing changed. (Named apart from Raft's "applied", which is about the state machine.)
 */
export type UpdateResult = { type: 'updated' } | { type: 'stale' };

/** The `updated` result: the reply moved (or confirmed) the progress. */
export const UPDATED: UpdateResult = Object.freeze({ type: 'updated' }) as UpdateResult;
/** The `stale` result: a reply to an inflight that is no longer the current one; nothing changed. */
export const STALE_REPLY: UpdateResult = Object.freeze({ type: 'stale' }) as UpdateResult;

/** The id of an inflight, or `null` for `none`. */
export function inflightId(inflight: Inflight): number | null {
  return inflight.type === 'none' ? null : inflight.id;
}
