/**
 * Server state handler: role derivation and the follower/leader/candidate transitions that do not
 * belong to one protocol concern. Owns `leader`, `candidate`, `electionDeadline`.
 */
import { compareLogId, isVoter, type ServerState, voteEquals } from '@flotilla/types';
import type { EngineCore } from '../core.ts';

/** The node's role, derived from its state. */
export function serverState(c: EngineCore): ServerState {
  if (c.leader !== null) return 'Leader';
  if (c.candidate !== null) return 'Candidate';
  return isVoter(c.membership.effective.membership, c.id) ? 'Follower' : 'Learner';
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
export function mayCampaign(c: EngineCore): boolean {
  if (isVoter(c.membership.effective.membership, c.id)) return true;
  const { effective, committed } = c.membership;
  return compareLogId(effective.logId, committed.logId) > 0 && isVoter(committed.membership, c.id);
}

/** Draws a new election deadline from the injected random source. */
export function resetElectionTimer(c: EngineCore, now: number): void {
  const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = c.config;
  const r = c.random();
  c.electionDeadline = Math.max(now + min + Math.floor(r * (max - min)), c.backoffUntil);
}

/**
 * Leaves the leader or candidate role. A leader's streams close (`rebuildReplicationStreams` with no
 * targets). Calling it as a follower only resets the timer.
 */
export function becomeFollower(c: EngineCore, now: number): void {
  if (c.leader !== null) {
    c.leader = null;
    c.emit({ type: 'rebuildReplicationStreams', vote: null, targets: [], closeOldStreams: true });
  }
  c.candidate = null;
  resetElectionTimer(c, now);
}

/** Checks the role-level invariants; throws `PanickedError` on a broken one. */
export function checkServerStateInvariants(c: EngineCore): void {
  c.assert(!(c.leader !== null && c.candidate !== null), () => 'leader and candidate at once');
  if (c.leader !== null) {
    c.assert(voteEquals(c.leader.vote, c.vote), () => 'leader vote differs from the vote in force');
    c.assert(c.vote.committed && c.vote.nodeId === c.id, () => 'leader without its own committed vote');
  }
}
