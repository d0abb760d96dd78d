/**
 * Owns one target's replication progress (`ProgressEntry`): the reversed binary search for its
 * match point, then the pipeline, with at most one inflight at a time. Every transition is a method
 * here and checks the invariants its fields document (`nextIndex(matching) <= searchingEnd`). Must
 * never read storage or send anything: it decides what to send from a `LogIdView`, the caller sends.
 */
import {
  compareLogId,
  formatLogId,
  InvalidConfigError,
  InvalidRequestError,
  indexOf,
  type LogId,
  maxLogId,
  type NodeId,
  nextIndex,
  PanickedError,
  type ReplicationMode,
  validateOptionalLogId,
} from '@flotilla/types';
import { LogReversionError } from './errors.ts';
import {
  INFLIGHT_NONE,
  type Inflight,
  type InflightIdGen,
  STALE_REPLY,
  UPDATED,
  type UpdateResult,
} from './inflight.ts';
import type { LogIdView } from './log-id-view.ts';

/**
 * Below this many unknown candidates the binary search stops halving and probes from `matching`
 * itself: one AppendEntries then overwrites whatever diverges on the target, which costs fewer
 * round trips than more halving on a small window.
 */
export const SEARCH_GRANULARITY = 8;

/** Options of {@link ProgressEntry.forNewLeader}. */
export interface ProgressEntryOptions {
  /** Allow every log reversion (see {@link ProgressEntry.allowLogReversion}). Default false. */
  allowLogReversion?: boolean;
  /** The target this progress is about; only used to label errors. */
  target?: NodeId;
}

/**
 * The leader's knowledge of one target's log and what is in flight to it: a reversed binary search
 * for the match point, then a pipeline.
 *
 * The target's match point (the last index where its log equals the leader's) is known to lie in
 * `[indexOf(matching), searchingEnd)`. Acks raise `matching`, conflicts lower `searchingEnd`; when
 * `nextIndex(matching) === searchingEnd` the search has converged and replication streams every
 * entry after `matching`.
 *
 * Invariants (checked by {@link ProgressEntry.checkInvariants}):
 * - `nextIndex(matching) <= searchingEnd` (the window is never negative);
 * - `searchingEnd` is a non-negative integer, `matching` a valid log id or `null`;
 * - an inflight `logs` has `prev <= last`.
 */
export class ProgressEntry {
  /** Highest log id known to match on the target. Only moves up, except through an allowed reversion. */
  matching: LogId | null;
  /**
   * Exclusive upper bound of where the match point can be: every index `>= searchingEnd` is known
   * not to match (or not to exist) on the target. Invariant: `searchingEnd >= nextIndex(matching)`.
   */
  searchingEnd: number;
  /** What is in flight to the target. */
  inflight: Inflight;
  /** When true every conflict at or below `matching` resets `matching` instead of throwing (config-level). */
  allowLogReversion: boolean;
  /** One-shot permission: the next reversion is allowed, then this resets to false. */
  allowReversionOnce: boolean;
  /** The target, when known (labels {@link LogReversionError}). */
  target?: NodeId;

  /**
   * Builds a progress from its parts. Prefer {@link ProgressEntry.forNewLeader}.
   * Throws `InvalidRequestError` when the parts break an invariant.
   */
  constructor(init: {
    matching: LogId | null;
    searchingEnd: number;
    inflight?: Inflight;
    allowLogReversion?: boolean;
    target?: NodeId;
  }) {
    this.matching = validateOptionalLogId(init.matching, 'matching');
    this.searchingEnd = init.searchingEnd;
    this.inflight = init.inflight ?? INFLIGHT_NONE;
    this.allowLogReversion = init.allowLogReversion ?? false;
    this.allowReversionOnce = false;
    if (init.target !== undefined) this.target = init.target;
    if (!Number.isSafeInteger(init.searchingEnd) || init.searchingEnd < nextIndex(this.matching)) {
      throw new InvalidRequestError(
        'searchingEnd',
        `must be an integer >= nextIndex(matching) = ${nextIndex(this.matching)}, got ${init.searchingEnd}`,
      );
    }
  }

  /** A new leader's view of a target: `matching = null`, `searchingEnd = nextIndex(lastLogId)`. */
  static forNewLeader(lastLogId: LogId | null, opts: ProgressEntryOptions = {}): ProgressEntry {
    const last = validateOptionalLogId(lastLogId, 'lastLogId');
    return new ProgressEntry({
      matching: null,
      searchingEnd: nextIndex(last),
      allowLogReversion: opts.allowLogReversion ?? false,
      ...(opts.target === undefined ? {} : { target: opts.target }),
    });
  }

  /**
   * Decides what to send next, records it as the inflight (taking `ids.next()`) and returns it; or
   * returns `null` when something is already in flight.
   *
   * - A snapshot when no index that might match can be read any more (`searchingEnd <= purged.index`),
   *   or when the leader purged its whole log and the match point is still unknown (a probe would
   *   carry nothing and could not make progress).
   * - During the search (`nextIndex(matching) < searchingEnd`): a `logs` probe whose `prev` is the
   *   leader's log id near the middle of the window (or `matching` itself once the window is at most
   *   {@link SEARCH_GRANULARITY}; never below `purged`), carrying `(prev, min(prev + maxEntries, last)]`.
   * - Once converged: `logsSince {prev: matching}` (pipeline mode), even with nothing new to send yet.
   *
   * Throws `InvalidConfigError` when `maxEntries` is not a positive integer, and `PanickedError`
   * when the log view contradicts the progress (e.g. `matching` beyond the leader's last log id).
   */
  nextSend(log: LogIdView, maxEntries: number, ids: InflightIdGen): Inflight | null {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidConfigError('maxEntries', `must be a positive integer, got ${maxEntries}`);
    }
    if (this.inflight.type !== 'none') return null;

    const purged = log.purged();
    const last = log.last();
    const lastIndex = indexOf(last);
    const m = indexOf(this.matching);
    if (m > lastIndex) {
      throw new PanickedError(
        `progress matching ${formatLogId(this.matching)} is beyond the leader's last log id ${formatLogId(last)}`,
      );
    }
    // The match point cannot be beyond the leader's own log.
    const end = Math.min(this.searchingEnd, lastIndex + 1);

    if (purged !== null) {
      const everyCandidatePurged = end <= purged.index;
      const wholeLogPurgedMatchUnknown = lastIndex <= purged.index && m < purged.index;
      if (everyCandidatePurged || wholeLogPurgedMatchUnknown) {
        this.inflight = { type: 'snapshot', id: ids.next() };
        return this.inflight;
      }
    }

    if (m + 1 >= end) {
      this.inflight = { type: 'logsSince', id: ids.next(), prev: this.matching };
      return this.inflight;
    }

    // Search phase: the unknown candidates are m+1 .. end-1.
    const window = end - 1 - m;
    let mid = window <= SEARCH_GRANULARITY ? m : m + Math.ceil(window / 2);
    if (purged !== null && mid < purged.index) mid = purged.index;
    const prev = mid < 0 ? null : this.#logIdAt(log, mid);
    const lastSent = Math.min(mid + maxEntries, lastIndex);
    const lastId = lastSent < 0 ? null : this.#logIdAt(log, lastSent);
    this.inflight = { type: 'logs', id: ids.next(), prev, last: lastId };
    return this.inflight;
  }

  #logIdAt(log: LogIdView, index: number): LogId {
    const id = log.logIdAt(index);
    if (id === null) {
      throw new PanickedError(
        `log view has no log id at index ${index} (purged ${formatLogId(log.purged())}, last ${formatLogId(log.last())})`,
      );
    }
    return id;
  }

  /**
   * An ack: the target matches up to `matching`. Moves `matching` up (never down) and raises
   * `searchingEnd` to at least `nextIndex(matching)`. For a `logs` inflight, completes it (→ none);
   * for `logsSince`, keeps the stream open and moves its `prev` forward; a `snapshot` stays in flight.
   * With `inflightId` given and not the current inflight's id (or nothing in flight) → `stale` and
   * nothing changes. Without `inflightId` (e.g. progress learnt from a heartbeat) only `matching` and
   * `searchingEnd` move. Throws `InvalidRequestError` on a malformed log id.
   */
  updateMatching(matching: LogId | null, inflightId?: number): UpdateResult {
    const acked = validateOptionalLogId(matching, 'matching');
    if (inflightId !== undefined) {
      if (this.inflight.type === 'none' || this.inflight.id !== inflightId) return STALE_REPLY;
    }
    this.#raiseMatching(acked);
    if (inflightId !== undefined) {
      const cur = this.inflight;
      if (cur.type === 'logs') this.inflight = INFLIGHT_NONE;
      else if (cur.type === 'logsSince' && compareLogId(acked, cur.prev) > 0) {
        this.inflight = { type: 'logsSince', id: cur.id, prev: acked };
      }
    }
    return UPDATED;
  }

  #raiseMatching(acked: LogId | null): void {
    this.matching = maxLogId(this.matching, acked);
    this.searchingEnd = Math.max(this.searchingEnd, nextIndex(this.matching));
  }

  /**
   * A conflict: the target has no entry equal to the leader's log id at `index` (the `prevLogId` of
   * the rejected request). `searchingEnd = min(searchingEnd, index)`.
   *
   * With `inflightId`: a stale id (or nothing in flight, e.g. a duplicate conflict) → `stale`,
   * nothing changes; otherwise the inflight ends (→ none). Without `inflightId` (e.g. a heartbeat's
   * conflict) the inflight is left as it is: its own reply will end it.
   *
   * `index <= matching.index` is a log reversion: throws {@link LogReversionError} (nothing changed)
   * unless `allowLogReversion` or `allowReversionOnce` (then consumed), in which case `matching`
   * resets to `null` and `searchingEnd = index`. Throws `InvalidRequestError` on a bad index.
   */
  updateConflicting(index: number, inflightId?: number): UpdateResult {
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new InvalidRequestError('conflictIndex', `must be a non-negative integer, got ${index}`);
    }
    if (inflightId !== undefined) {
      if (this.inflight.type === 'none' || this.inflight.id !== inflightId) return STALE_REPLY;
    }
    if (index <= indexOf(this.matching)) {
      if (!this.allowLogReversion && !this.allowReversionOnce) {
        throw new LogReversionError({ matching: this.matching, conflictIndex: index, target: this.target });
      }
      this.allowReversionOnce = false;
      this.matching = null;
      this.searchingEnd = index;
    } else {
      this.searchingEnd = Math.min(this.searchingEnd, index);
    }
    if (inflightId !== undefined) this.inflight = INFLIGHT_NONE;
    return UPDATED;
  }

  /**
   * A snapshot whose last log id is `lastLogId` was installed on the target:
   * `matching = max(matching, lastLogId)`, `searchingEnd = max(searchingEnd, nextIndex(lastLogId))`,
   * inflight → none. A stale id → `stale`, nothing changes. Throws `PanickedError` when the id is the
   * current inflight's but that inflight is not a snapshot (a caller bug).
   */
  updateSnapshotInstalled(lastLogId: LogId | null, inflightId: number): UpdateResult {
    const installed = validateOptionalLogId(lastLogId, 'lastLogId');
    const cur = this.inflight;
    if (cur.type === 'none' || cur.id !== inflightId) return STALE_REPLY;
    if (cur.type !== 'snapshot') {
      throw new PanickedError(`inflight ${inflightId} is ${cur.type}, not a snapshot`);
    }
    this.#raiseMatching(installed);
    this.inflight = INFLIGHT_NONE;
    return UPDATED;
  }

  /**
   * The RPC or stream of the inflight failed (transport error, timeout) or was closed: inflight →
   * none when `inflightId` is the current one; `stale` otherwise. The progress itself is unchanged,
   * so the next `nextSend` retries from what is known.
   */
  releaseInflight(inflightId: number): UpdateResult {
    if (this.inflight.type === 'none' || this.inflight.id !== inflightId) return STALE_REPLY;
    this.inflight = INFLIGHT_NONE;
    return UPDATED;
  }

  /**
   * Whether the inflight may still read log entries with index `<= upto` from storage, so that
   * purging up to `upto` must wait: a non-empty `logs` range starting at or below `upto`, or a
   * `logsSince` whose `prev.index < upto`. A snapshot reads no log entries.
   */
  isLogRangeInflight(upto: number): boolean {
    const cur = this.inflight;
    switch (cur.type) {
      case 'none':
      case 'snapshot':
        return false;
      case 'logs': {
        const first = nextIndex(cur.prev);
        return first <= upto && first < nextIndex(cur.last);
      }
      case 'logsSince':
        return nextIndex(cur.prev) <= upto;
    }
  }

  /** How the target is being replicated to right now, for metrics. */
  mode(): ReplicationMode {
    switch (this.inflight.type) {
      case 'none':
        return 'idle';
      case 'logs':
        return 'probing';
      case 'logsSince':
        return 'pipeline';
      case 'snapshot':
        return 'snapshot';
    }
  }

  /** Whether the binary search has converged (`nextIndex(matching) === searchingEnd`). */
  isConverged(): boolean {
    return nextIndex(this.matching) === this.searchingEnd;
  }

  /** Throws `PanickedError` if an invariant is broken (used by tests and simulators). */
  checkInvariants(): void {
    const fail = (what: string): never => {
      throw new PanickedError(`progress invariant broken: ${what} (${this.toString()})`);
    };
    const m = this.matching;
    if (m !== null && (!isNonNegInt(m.term) || !isNonNegInt(m.index))) fail('matching is not a valid log id');
    if (!isNonNegInt(this.searchingEnd)) fail('searchingEnd is not a non-negative integer');
    if (nextIndex(m) > this.searchingEnd) fail('nextIndex(matching) > searchingEnd');
    const cur = this.inflight;
    if (cur.type !== 'none' && !(Number.isSafeInteger(cur.id) && cur.id > 0))
      fail('inflight id is not positive');
    if (cur.type === 'logs' && compareLogId(cur.prev, cur.last) > 0) fail('inflight logs prev > last');
  }

  /** A compact rendering for logs: `matching=T-I end=N inflight=...`. */
  toString(): string {
    const cur = this.inflight;
    let f: string;
    if (cur.type === 'none') f = 'none';
    else if (cur.type === 'logs') f = `logs#${cur.id}(${formatLogId(cur.prev)},${formatLogId(cur.last)}]`;
    else if (cur.type === 'logsSince') f = `logsSince#${cur.id}(${formatLogId(cur.prev)},..)`;
    else f = `snapshot#${cur.id}`;
    return `matching=${formatLogId(this.matching)} end=${this.searchingEnd} inflight=${f}`;
  }
}

function isNonNegInt(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0;
}
