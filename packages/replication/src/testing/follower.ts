import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  type Entry,
  initialVote,
  type LogId,
  logIdEquals,
  minLogId,
  type Vote,
  voteGe,
} from '@flotilla/types';
import { lastLogIdOf } from '../sequential.ts';

/**
 * A follower's log with the receiver rules of AppendEntries (Raft §5.3), for tests and benchmarks:
 * refuses a lower vote, checks `prevLogId`, truncates a conflicting suffix, never leaves a hole
 * (a request that would is counted in `gaps` and refused as a conflict).
 */
export class FakeFollower {
  /** The log, index `i` at position `i`. */
  log: Entry[];
  /** The follower's vote. */
  vote: Vote;
  /** The last committed log id it learnt. */
  committed: LogId | null = null;
  /** Requests handled. */
  requests = 0;
  /** Requests that would have left a hole (must stay 0). */
  gaps = 0;

  /**
   * @param log - the follower's initial log (copied).
   * @param vote - the follower's initial vote.
   */
  constructor(log: readonly Entry[] = [], vote: Vote = initialVote()) {
    this.log = [...log];
    this.vote = vote;
  }

  /** The last log id, or `null` for an empty log. */
  get lastLogId(): LogId | null {
    return this.log[this.log.length - 1]?.logId ?? null;
  }

  /** Handles one AppendEntries. */
  handle(req: AppendEntriesRequest): AppendEntriesResponse {
    this.requests += 1;
    if (!voteGe(req.vote, this.vote)) return { type: 'higherVote', vote: this.vote };
    this.vote = req.vote;
    const prev = req.prevLogId;
    if (prev !== null && !logIdEquals(this.log[prev.index]?.logId ?? null, prev)) return { type: 'conflict' };
    for (const e of req.entries) {
      const i = e.logId.index;
      const have = this.log[i];
      if (have !== undefined && have.logId.term === e.logId.term) continue;
      if (i > this.log.length) {
        this.gaps += 1;
        return { type: 'conflict' };
      }
      this.log.length = i;
      this.log.push(e);
    }
    const last = lastLogIdOf(req);
    const c = minLogId(req.leaderCommit, last);
    if (c !== null && (this.committed === null || c.index > this.committed.index)) this.committed = c;
    return { type: 'success' };
  }
}
