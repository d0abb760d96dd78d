/**
 * Following handler: AppendEntries from the leader (Raft §5.3): the vote check, the `prevLogId`
 * consistency check, skipping entries already held, truncating at the first conflict, appending the
 * rest, and raising `committed` no further than what was accepted from this leader. Owns
 * `acceptedFromLeader` (raising it; a vote change resets it). Imports `commit.ts`, `log.ts`,
 * `server-state.ts` and `vote.ts`.
 */
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  InvalidRequestError,
  indexOf,
  type LogId,
  maxLogId,
  minLogId,
  type Vote,
  voteEquals,
  voteGe,
} from '@flotilla/types';
import { invariant } from '../core.ts';
import { advanceCommitted, type CommitSlice } from './commit.ts';
import { appendToLog, truncateLog } from './log.ts';
import { becomeFollower, resetElectionTimer } from './server-state.ts';
import { heardFromLeader, updateVote, type VoteSlice } from './vote.ts';

/** The state the following handler works on. */
export type FollowingSlice = VoteSlice & CommitSlice;

/**
 * Accepts `vote` as the leader's if it is >= ours: adopts it, follows, resets the election timer.
 * Returns false (nothing changed) when it is not.
 */
export function acceptLeaderVote(state: FollowingSlice, vote: Vote, now: number): boolean {
  if (!vote.committed)
    throw new InvalidRequestError('vote.committed', 'a leader request carries a committed vote');
  if (!voteGe(vote, state.vote)) return false;
  if (!voteEquals(vote, state.vote)) {
    invariant(
      state.id,
      state.leader === null || vote.term > state.vote.term,
      () => 'a second leader in the same term',
    );
    updateVote(state, vote);
  }
  if (state.leader !== null || state.candidate !== null) becomeFollower(state, now);
  else resetElectionTimer(state, now);
  heardFromLeader(state, now);
  return true;
}

/** This follower holds the leader's log up to `logId` (a request matched it, or a snapshot covers it). */
export function acceptedUpTo(state: FollowingSlice, logId: LogId): void {
  state.acceptedFromLeader = maxLogId(state.acceptedFromLeader, logId);
}

/** The answer to an AppendEntries, and whether it waits for every write issued so far to be durable. */
export interface AppendOutcome {
  response: AppendEntriesResponse;
  /** Answer only once everything written is durable. */
  durable: boolean;
  /** Whether `committed` advanced. */
  committed: boolean;
}

/** Handles AppendEntries up to the answer, which the caller sends with `respondAppend`. */
export function appendFromLeader(
  state: FollowingSlice,
  req: AppendEntriesRequest,
  now: number,
): AppendOutcome {
  if (!acceptLeaderVote(state, req.vote, now)) {
    return { response: { type: 'higherVote', vote: state.vote }, durable: false, committed: false };
  }
  const prev = req.prevLogId;
  const purgedIndex = indexOf(state.log.purged());
  // Entries up to the purged one are committed, hence equal to the leader's (Leader Completeness).
  if (prev !== null && prev.index > purgedIndex && !state.log.contains(prev)) {
    return { response: { type: 'conflict' }, durable: true, committed: false };
  }
  const entries = req.entries;
  let i = 0;
  for (; i < entries.length; i++) {
    const id = entries[i]!.logId;
    if (id.index <= purgedIndex) continue;
    const mine = state.log.logIdAt(id.index);
    if (mine === null) break;
    if (mine.term !== id.term) {
      truncateLog(state, id);
      break;
    }
  }
  const rest = entries.slice(i).filter((e) => e.logId.index > indexOf(state.log.last()));
  appendToLog(state, rest);
  const matched = entries.length > 0 ? entries[entries.length - 1]!.logId : prev;
  if (matched !== null) acceptedUpTo(state, matched);
  const canCommit = minLogId(req.leaderCommit, state.acceptedFromLeader);
  const committed = canCommit !== null && advanceCommitted(state, canCommit);
  return { response: { type: 'success' }, durable: true, committed };
}

/** Sends the answer of `appendFromLeader`. */
export function respondAppend(state: FollowingSlice, reply: unknown, outcome: AppendOutcome): void {
  const when = outcome.durable ? state.whenDurable() : null;
  state.emit({
    type: 'respond',
    when,
    reply,
    response: { type: 'appendEntries', response: outcome.response },
  });
}
