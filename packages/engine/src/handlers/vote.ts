/**
 * Vote handler: the vote in force, elections, pre-votes, answering vote requests and the voter's
 * side of leader leases (Raft §5.2, §5.4.1, thesis §6.4, §9.6). Owns `vote` (a vote change resets
 * `acceptedFromLeader`, which belongs to the vote), `candidate` (entering and counting), `backoffUntil`,
 * `lastLeaderContact` and `leaseWaiver`. A won election is returned, never acted on: the engine
 * makes the leader (`establish.ts`). Imports only `server-state.ts`.
 */
import {
  compareLogId,
  isQuorum,
  leaderOf,
  type NodeId,
  type TransferLeaderRequest,
  type Vote,
  type VoteRequest,
  type VoteResponse,
  voteEquals,
  voteGe,
  voterIds,
} from '@flotilla/types';
import type { EngineCore } from '../core.ts';
import {
  becomeFollower,
  mayCampaign,
  postponeElection,
  resetElectionTimer,
  type ServerStateSlice,
} from './server-state.ts';

/** The state the vote handler works on (`log` and `membership` are only read). */
export type VoteSlice = ServerStateSlice &
  Pick<
    EngineCore,
    | 'vote'
    | 'candidate'
    | 'backoffUntil'
    | 'lastLeaderContact'
    | 'leaseWaiver'
    | 'acceptedFromLeader'
    | 'nextIo'
    | 'whenDurable'
  > &
  Readonly<Pick<EngineCore, 'log'>>;

/** Saves a new vote: one `saveVote` write. What was accepted from the previous vote's leader is forgotten. */
export function updateVote(
  state: Pick<VoteSlice, 'vote' | 'acceptedFromLeader' | 'nextIo' | 'emit'>,
  vote: Vote,
): void {
  state.vote = vote;
  state.acceptedFromLeader = null;
  const ioId = state.nextIo();
  state.emit({ type: 'saveVote', ioId, vote });
}

/** A leader (or this node as leader) was heard from now: votes for others are refused within the lease. */
export function heardFromLeader(state: Pick<VoteSlice, 'lastLeaderContact'>, now: number): void {
  state.lastLeaderContact = now;
}

/** Adopts the term of a greater vote seen in a reply, voting for nobody in it, and follows. */
export function adoptHigherTerm(state: VoteSlice, seen: Vote, now: number): boolean {
  if (seen.term <= state.vote.term) return false;
  updateVote(state, { term: seen.term, nodeId: null, committed: false });
  becomeFollower(state, now);
  return true;
}

/**
 * Starts an election (a pre-vote round first when enabled and `skipPreVote` is not set). A learner
 * or a leader does nothing. (A real election is never won here: the candidate counts itself only
 * once its vote is durable, see `onVoteFlushed`.)
 */
export function elect(state: VoteSlice, now: number, opts: { skipPreVote?: boolean } = {}): void {
  if (state.leader !== null || !mayCampaign(state)) return;
  state.lastLeaderContact = null;
  if (state.config.enablePreVote && opts.skipPreVote !== true) startPreVote(state, now);
  else startElection(state, now);
}

function startPreVote(state: VoteSlice, now: number): void {
  const vote: Vote = { term: state.vote.term + 1, nodeId: state.id, committed: false };
  state.candidate = { vote, preVote: true, granted: new Set([state.id]), startedAt: now };
  resetElectionTimer(state, now);
  if (checkElection(state, now) !== 'pending') return;
  sendVoteRequests(state, { vote, lastLogId: state.log.last(), preVote: true });
}

function startElection(state: VoteSlice, now: number): void {
  const vote: Vote = { term: state.vote.term + 1, nodeId: state.id, committed: false };
  updateVote(state, vote);
  // The candidate counts itself once its vote is durable (see onVoteFlushed).
  state.candidate = { vote, preVote: false, granted: new Set(), startedAt: now };
  resetElectionTimer(state, now);
  sendVoteRequests(state, { vote, lastLogId: state.log.last() });
}

function sendVoteRequests(state: VoteSlice, request: VoteRequest): void {
  for (const target of voterIds(state.membership.effective.membership)) {
    if (target !== state.id) state.emit({ type: 'sendVote', target, request });
  }
}

/** Whether a leader's lease forbids granting `req` now. */
function leaseForbids(state: VoteSlice, req: VoteRequest, now: number): boolean {
  if (state.leader !== null) return state.leader.transferTo !== req.vote.nodeId;
  const leader = leaderOf(state.vote);
  if (leader === null || leader === req.vote.nodeId || state.lastLeaderContact === null) return false;
  const w = state.leaseWaiver;
  if (w !== null && w.term === state.vote.term && w.to === req.vote.nodeId) return false;
  return now < state.lastLeaderContact + state.config.leaseMs;
}

/**
 * Answers a vote or pre-vote request. Grants only if the candidate's vote is >= ours, its last log
 * id is >= ours (§5.4.1) and no leader lease is live; a granted real vote is answered only once it is
 * durable.
 */
export function handleVoteRequest(state: VoteSlice, req: VoteRequest, reply: unknown, now: number): void {
  const lastLogId = state.log.last();
  const logOk = compareLogId(req.lastLogId, lastLogId) >= 0;
  const ok = logOk && !leaseForbids(state, req, now) && voteGe(req.vote, state.vote);
  const answer = (granted: boolean, when: ReturnType<EngineCore['whenDurable']>) => {
    const response: VoteResponse = { vote: state.vote, voteGranted: granted, lastLogId };
    state.emit({ type: 'respond', when, reply, response: { type: 'vote', response } });
  };
  if (req.preVote === true) {
    answer(ok, null);
    return;
  }
  if (!ok) {
    // Raft §5.1: a greater term is adopted even when the vote is refused for the log, so that the
    // node with the best log campaigns at a term the others accept (no lease: a live leader wins).
    if (req.vote.term > state.vote.term && !leaseForbids(state, req, now)) {
      updateVote(state, { term: req.vote.term, nodeId: null, committed: false });
      // A refused candidate does not reset a follower's election timer (only a granted vote or a
      // leader's message does): else a node whose log is behind but whose timer runs faster would
      // keep the up-to-date nodes from ever campaigning.
      if (state.leader !== null || state.candidate !== null) becomeFollower(state, now);
    }
    answer(false, null);
    return;
  }
  if (!voteEquals(req.vote, state.vote)) {
    updateVote(state, req.vote);
    becomeFollower(state, now);
  } else resetElectionTimer(state, now);
  answer(true, state.whenDurable());
}

/** What a vote event did to the election: `won` means the engine must make this node leader now. */
export type ElectionOutcome = 'won' | 'pending';

/** Handles a reply to our vote or pre-vote request. */
export function handleVoteResponse(
  state: VoteSlice,
  from: NodeId,
  resp: VoteResponse,
  now: number,
): ElectionOutcome {
  if (!resp.voteGranted && adoptHigherTerm(state, resp.vote, now)) return 'pending';
  const cand = state.candidate;
  if (cand === null) return 'pending';
  if (resp.voteGranted) {
    if (cand.preVote || voteEquals(resp.vote, cand.vote)) {
      cand.granted.add(from);
      return checkElection(state, now) === 'won' ? 'won' : 'pending';
    }
    return 'pending';
  }
  if (compareLogId(resp.lastLogId, state.log.last()) > 0) backOff(state, now);
  return 'pending';
}

function backOff(state: VoteSlice, now: number): void {
  // A voter has a greater log: this node cannot win; give others time to elect (openraft's back-off).
  state.backoffUntil = now + state.config.electionTimeoutMaxMs;
  postponeElection(state, state.backoffUntil);
}

/** The candidate's own vote became durable: it counts itself. */
export function onVoteFlushed(state: VoteSlice, flushed: Vote, now: number): ElectionOutcome {
  const cand = state.candidate;
  if (cand !== null && !cand.preVote && voteEquals(flushed, cand.vote)) {
    cand.granted.add(state.id);
    return checkElection(state, now) === 'won' ? 'won' : 'pending';
  }
  return 'pending';
}

/**
 * Moves on once a quorum granted: a won pre-vote starts the real election here; a won real one is
 * returned as `won` (the engine makes the leader).
 */
function checkElection(state: VoteSlice, now: number): ElectionOutcome | 'preVoteWon' {
  const cand = state.candidate;
  if (cand === null || !isQuorum(state.membership.effective.membership, cand.granted)) return 'pending';
  if (!cand.preVote) return 'won';
  startElection(state, now);
  return 'preVoteWon';
}

/**
 * The leader of our current vote is handing leadership over to `req.to`: stop holding its lease
 * against `req.to` (only against it, only in this term); the target itself, if its log has caught
 * up, elects itself at once (no pre-vote). A request from any other leader is ignored.
 */
export function handleTransferLeader(state: VoteSlice, req: TransferLeaderRequest, now: number): void {
  if (!voteEquals(req.from, state.vote) || state.leader !== null) return;
  state.leaseWaiver = { term: state.vote.term, to: req.to };
  if (req.to !== state.id) return;
  if (compareLogId(state.log.last(), req.lastLogId) < 0) return;
  state.lastLeaderContact = null;
  elect(state, now, { skipPreVote: true });
}
