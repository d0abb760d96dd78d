/**
 * Following handler: AppendEntries from the leader (Raft §5.3): the vote check, the `prevLogId`
 * consistency check, skipping entries already held, truncating at the first conflict, appending the
 * rest, and raising `committed` no further than what was accepted from this leader. Owns
 * `acceptedFromLeader`, `lastLeaderContact` and `committed` (as follower).
 */
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  InvalidRequestError,
  indexOf,
  maxLogId,
  minLogId,
  type Vote,
  voteEquals,
  voteGe,
} from '@flotilla/types';
import type { EngineCore } from '../core.ts';
import { advanceCommitted } from './leader.ts';
import { appendToLog, truncateLog } from './log.ts';
import { becomeFollower, resetElectionTimer } from './server-state.ts';
import { updateVote } from './vote.ts';

/**
 * Accepts `vote` as the leader's if it is >= ours: adopts it, follows, resets the election timer.
 * Returns false (nothing changed) when it is not.
 */
export function acceptLeaderVote(c: EngineCore, vote: Vote, now: number): boolean {
  if (!vote.committed)
    throw new InvalidRequestError('vote.committed', 'a leader request carries a committed vote');
  if (!voteGe(vote, c.vote)) return false;
  if (!voteEquals(vote, c.vote)) {
    c.assert(c.leader === null || vote.term > c.vote.term, () => 'a second leader in the same term');
    updateVote(c, vote);
    c.acceptedFromLeader = null;
  }
  if (c.leader !== null || c.candidate !== null) becomeFollower(c, now);
  else resetElectionTimer(c, now);
  c.lastLeaderContact = now;
  return true;
}

/** Handles AppendEntries; answers once everything it wrote is durable. */
export function handleAppendEntries(
  c: EngineCore,
  req: AppendEntriesRequest,
  reply: unknown,
  now: number,
): void {
  const respond = (response: AppendEntriesResponse, durable: boolean) => {
    const when = durable && !c.bug('appendAckBeforeFlush') ? c.whenDurable() : null;
    c.emit({ type: 'respond', when, reply, response: { type: 'appendEntries', response } });
  };
  if (!acceptLeaderVote(c, req.vote, now)) {
    respond({ type: 'higherVote', vote: c.vote }, false);
    return;
  }
  const prev = req.prevLogId;
  const purgedIndex = indexOf(c.log.purged());
  // Entries up to the purged one are committed, hence equal to the leader's (Leader Completeness).
  if (prev !== null && prev.index > purgedIndex && !c.log.contains(prev)) {
    respond({ type: 'conflict' }, true);
    return;
  }
  const entries = req.entries;
  let i = 0;
  for (; i < entries.length; i++) {
    const id = entries[i]!.logId;
    if (id.index <= purgedIndex) continue;
    const mine = c.log.logIdAt(id.index);
    if (mine === null) break;
    if (mine.term !== id.term) {
      if (c.bug('skipTruncateOnConflict')) continue;
      truncateLog(c, id);
      break;
    }
  }
  const rest = entries.slice(i).filter((e) => e.logId.index > indexOf(c.log.last()));
  appendToLog(c, rest);
  const matched = entries.length > 0 ? entries[entries.length - 1]!.logId : prev;
  c.acceptedFromLeader = maxLogId(c.acceptedFromLeader, matched);
  const canCommit = minLogId(req.leaderCommit, c.acceptedFromLeader);
  if (canCommit !== null) advanceCommitted(c, canCommit, now);
  respond({ type: 'success' }, true);
}
