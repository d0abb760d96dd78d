/**
 * Vote handler: elections, pre-votes and answering vote requests (Raft §5.2, §5.4.1, thesis §9.6).
 * Owns `vote`, `candidate`, `lastLeaderContact`, `backoffUntil`.
 */
import {
  compareLogId,
  isQuorum,
  type LogId,
  leaderOf,
  type NodeId,
  type Vote,
  type VoteRequest,
  type VoteResponse,
  voteEquals,
  voteGe,
  voterIds,
} from '@flotilla/types';
import type { EngineCore } from '../core.ts';
import { becomeLeader } from './establish.ts';
import { becomeFollower, mayCampaign, resetElectionTimer } from './server-state.ts';

/** Saves a new vote: one `saveVote` write. */
export function updateVote(c: EngineCore, vote: Vote): void {
  c.vote = vote;
  const ioId = c.nextIo();
  c.emit({ type: 'saveVote', ioId, vote });
}

/** Adopts the term of a greater vote seen in a reply, voting for nobody in it, and follows. */
export function adoptHigherTerm(c: EngineCore, seen: Vote, now: number): boolean {
  if (seen.term <= c.vote.term) return false;
  updateVote(c, { term: seen.term, nodeId: null, committed: false });
  c.acceptedFromLeader = null;
  becomeFollower(c, now);
  return true;
}

/**
 * Starts an election (a pre-vote round first when enabled and `skipPreVote` is not set). A learner
 * or a leader does nothing.
 */
export function elect(c: EngineCore, now: number, opts: { skipPreVote?: boolean } = {}): void {
  if (c.leader !== null || !mayCampaign(c)) return;
  c.lastLeaderContact = null;
  if (c.config.enablePreVote && opts.skipPreVote !== true) startPreVote(c, now);
  else startElection(c, now);
}

function startPreVote(c: EngineCore, now: number): void {
  const vote: Vote = { term: c.vote.term + 1, nodeId: c.id, committed: false };
  c.candidate = { vote, preVote: true, granted: new Set([c.id]), startedAt: now };
  resetElectionTimer(c, now);
  if (checkElection(c, now)) return;
  sendVoteRequests(c, { vote, lastLogId: c.log.last(), preVote: true });
}

function startElection(c: EngineCore, now: number): void {
  const vote: Vote = { term: c.vote.term + 1, nodeId: c.id, committed: false };
  updateVote(c, vote);
  c.acceptedFromLeader = null;
  // The candidate counts itself once its vote is durable (see onVoteFlushed).
  c.candidate = { vote, preVote: false, granted: new Set(), startedAt: now };
  resetElectionTimer(c, now);
  sendVoteRequests(c, { vote, lastLogId: c.log.last() });
}

function sendVoteRequests(c: EngineCore, request: VoteRequest): void {
  for (const target of voterIds(c.membership.effective.membership)) {
    if (target !== c.id) c.emit({ type: 'sendVote', target, request });
  }
}

/** Whether a leader's lease forbids granting `req` now. */
function leaseForbids(c: EngineCore, req: VoteRequest, now: number): boolean {
  if (c.leader !== null) return c.leader.transferTo !== req.vote.nodeId;
  const leader = leaderOf(c.vote);
  if (leader === null || leader === req.vote.nodeId || c.lastLeaderContact === null) return false;
  const w = c.leaseWaiver;
  if (w !== null && w.term === c.vote.term && w.to === req.vote.nodeId) return false;
  return now < c.lastLeaderContact + c.config.leaseMs;
}

/**
 * Answers a vote or pre-vote request. Grants only if the candidate's vote is >= ours, its last log
 * id is >= ours (§5.4.1) and no leader lease is live; a granted real vote is answered only once it is
 * durable.
 */
export function handleVoteRequest(c: EngineCore, req: VoteRequest, reply: unknown, now: number): void {
  const lastLogId = c.log.last();
  const logOk = c.bug('voteWithoutLogCheck') || compareLogId(req.lastLogId, lastLogId) >= 0;
  const ok = logOk && !leaseForbids(c, req, now) && voteGe(req.vote, c.vote);
  const answer = (granted: boolean, when: ReturnType<EngineCore['whenDurable']>) => {
    const response: VoteResponse = { vote: c.vote, voteGranted: granted, lastLogId };
    c.emit({ type: 'respond', when, reply, response: { type: 'vote', response } });
  };
  if (req.preVote === true) {
    answer(ok, null);
    return;
  }
  if (!ok) {
    // Raft §5.1: a greater term is adopted even when the vote is refused for the log, so that the
    // node with the best log campaigns at a term the others accept (no lease: a live leader wins).
    if (req.vote.term > c.vote.term && !leaseForbids(c, req, now)) {
      updateVote(c, { term: req.vote.term, nodeId: null, committed: false });
      c.acceptedFromLeader = null;
      // A refused candidate does not reset a follower's election timer (only a granted vote or a
      // leader's message does): else a node whose log is behind but whose timer runs faster would
      // keep the up-to-date nodes from ever campaigning.
      if (c.leader !== null || c.candidate !== null) becomeFollower(c, now);
    }
    answer(false, null);
    return;
  }
  if (!voteEquals(req.vote, c.vote)) {
    updateVote(c, req.vote);
    c.acceptedFromLeader = null;
    becomeFollower(c, now);
  } else resetElectionTimer(c, now);
  answer(true, c.bug('voteBeforeDurable') ? null : c.whenDurable());
}

/** Handles a reply to our vote or pre-vote request. */
export function handleVoteResponse(c: EngineCore, from: NodeId, resp: VoteResponse, now: number): void {
  if (!resp.voteGranted && adoptHigherTerm(c, resp.vote, now)) return;
  const cand = c.candidate;
  if (cand === null) return;
  if (resp.voteGranted) {
    if (cand.preVote || voteEquals(resp.vote, cand.vote)) {
      cand.granted.add(from);
      checkElection(c, now);
    }
    return;
  }
  if (compareLogId(resp.lastLogId, c.log.last()) > 0) backOff(c, resp.lastLogId, now);
}

function backOff(c: EngineCore, _theirs: LogId | null, now: number): void {
  // A voter has a greater log: this node cannot win; give others time to elect (openraft's back-off).
  c.backoffUntil = now + c.config.electionTimeoutMaxMs;
  c.electionDeadline = Math.max(c.electionDeadline, c.backoffUntil);
}

/** The candidate's own vote became durable: it counts itself. */
export function onVoteFlushed(c: EngineCore, flushed: Vote, now: number): void {
  const cand = c.candidate;
  if (cand !== null && !cand.preVote && voteEquals(flushed, cand.vote)) {
    cand.granted.add(c.id);
    checkElection(c, now);
  }
}

/** Moves on once a quorum granted: a pre-vote starts the real election, a real one makes a leader. */
function checkElection(c: EngineCore, now: number): boolean {
  const cand = c.candidate;
  if (cand === null || !isQuorum(c.membership.effective.membership, cand.granted)) return false;
  if (cand.preVote) startElection(c, now);
  else becomeLeader(c, now);
  return true;
}
