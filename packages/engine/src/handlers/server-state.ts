/**
 * Server state handler: role derivation and leaving a role (leader or candidate → follower), with
 * the election timer. Owns `electionDeadline` and the role exits (`leader` and `candidate` set to
 * `null`; entering a role is `vote.ts` (candidate) and `establish.ts` (leader)). Imports no other
 * handler.
 */
import { compareLogId, isVoter, type ServerState, voteEquals } from '@flotilla/types';
import type { EngineCore } from '../core.ts';

/** The state the server-state handler works on (`membership`, `vote`, `backoffUntil` are only read). */
export type ServerStateSlice = Pick<
  EngineCore,
  'leader' | 'candidate' | 'electionDeadline' | 'emit' | 'assert' | 'random'
> &
  Readonly<Pick<EngineCore, 'id' | 'config' | 'membership' | 'vote' | 'backoffUntil'>>;

/** The node's role, derived from its state. */
export function serverState(state: Readonly<ServerStateSlice>): ServerState {
  if (state.leader !== null) return 'Leader';
  if (state.candidate !== null) return 'Candidate';
  return isVoter(state.membership.effective.membership, state.id) ? 'Follower' : 'Learner';
}

/**
 * Whether this node may campaign: it is a voter of its effective membership, or that membership is
 * not committed yet and the node is a voter of the committed one (a node an uncommitted change
 * removes). The second case keeps a cluster live when the leader appended a uniform config that
 * removes some voters and died: those voters may hold the newest log, and the remaining ones, still
 * in the joint config, cannot win without their votes. Votes are counted in the candidate's
 * effective membership either way (Raft §6: a leader outside the new config steps down once it
 * commits).
 */
export function mayCampaign(state: Readonly<Pick<EngineCore, 'id' | 'membership'>>): boolean {
  if (isVoter(state.membership.effective.membership, state.id)) return true;
  const { effective, committed } = state.membership;
  return compareLogId(effective.logId, committed.logId) > 0 && isVoter(committed.membership, state.id);
}

/** Draws a new election deadline from the injected random source. */
export function resetElectionTimer(
  state: Pick<EngineCore, 'electionDeadline' | 'random'> &
    Readonly<Pick<EngineCore, 'config' | 'backoffUntil'>>,
  now: number,
): void {
  const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = state.config;
  const r = state.random();
  state.electionDeadline = Math.max(now + min + Math.floor(r * (max - min)), state.backoffUntil);
}

/** Keeps the election timer from firing before `until` (a back-off). */
export function postponeElection(state: Pick<EngineCore, 'electionDeadline'>, until: number): void {
  state.electionDeadline = Math.max(state.electionDeadline, until);
}

/**
 * Leaves the leader or candidate role. A leader's streams close (`rebuildReplicationStreams` with no
 * targets). Calling it as a follower only resets the timer.
 */
export function becomeFollower(state: ServerStateSlice, now: number): void {
  if (state.leader !== null) {
    state.leader = null;
    state.emit({ type: 'rebuildReplicationStreams', vote: null, targets: [], closeOldStreams: true });
  }
  state.candidate = null;
  resetElectionTimer(state, now);
}

/** Checks the role-level invariants; throws `PanickedError` on a broken one. */
export function checkServerStateInvariants(state: Readonly<ServerStateSlice>): void {
  state.assert(!(state.leader !== null && state.candidate !== null), () => 'leader and candidate at once');
  if (state.leader !== null) {
    state.assert(
      voteEquals(state.leader.vote, state.vote),
      () => 'leader vote differs from the vote in force',
    );
    state.assert(
      state.vote.committed && state.vote.nodeId === state.id,
      () => 'leader without its own committed vote',
    );
  }
}
