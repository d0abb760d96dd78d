/**
 * Leader handler: client proposals, the commit rule (Raft §5.3, §5.4.2), membership changes (§6),
 * heartbeats, check-quorum, lease and leadership transfer (thesis §3.10, §6.4). Owns the leader's
 * own fields (`membershipGoal`, `transferTo`, `transferPending`, `lastHeartbeatAt`) and its own entries
 * in `leader.commit` and `leader.clock`. It decides what may be committed (`committable`) and what a
 * commit leads to (`afterCommit`); moving `committed` and appending a membership entry with its
 * replication are sequenced by the engine. Imports `log.ts`, `replication.ts`, `server-state.ts`
 * and `vote.ts`.
 */
import {
  type ChangeMembers,
  ChangeMembershipError,
  compareLogId,
  type EntryPayload,
  ForwardToLeaderError,
  formatLogId,
  getNode,
  InvalidRequestError,
  indexOf,
  isJoint,
  isMember,
  isVoter,
  type LogId,
  leaderOf,
  logIdEquals,
  type Membership,
  type Node,
  type NodeId,
  NotLeaderError,
  nextIndex,
  nextMembership,
  planChangeMembers,
  validateMembership,
  voterIds,
} from '@flotilla/types';
import type { EngineCore, LeaderState } from '../core.ts';
import { appendToLog, type LogSlice, membershipCommitted } from './log.ts';
import { type ReplicationSlice, sendDeferred } from './replication.ts';
import { becomeFollower, type ServerStateSlice } from './server-state.ts';
import { heardFromLeader } from './vote.ts';

/** The state the leader handler works on. */
export type LeaderSlice = LogSlice &
  ServerStateSlice &
  ReplicationSlice &
  Pick<EngineCore, 'lastLeaderContact'> &
  Readonly<Pick<EngineCore, 'committed'>>;

/** The leader state, or a `ForwardToLeaderError` naming the leader this node knows of. */
export function requireLeader(
  state: Readonly<Pick<EngineCore, 'leader' | 'vote' | 'membership' | 'id'>>,
): LeaderState {
  if (state.leader !== null) return state.leader;
  const id = leaderOf(state.vote);
  const node = id === null ? undefined : getNode(state.membership.effective.membership, id);
  throw new ForwardToLeaderError(id === state.id ? null : id, id === state.id ? null : (node ?? null));
}

/**
 * Records the leader's own accepted log id (its flushed log). A leader being removed is no longer in
 * the quorum set and does not count (§6). Returns whether it counted (then try to commit).
 */
export function recordSelfAccepted(state: LeaderSlice, logId: LogId | null): boolean {
  const leader = state.leader;
  if (leader === null || !isMember(state.membership.effective.membership, state.id)) return false;
  leader.commit.update(state.id, logId);
  return true;
}

/**
 * What a quorum accepted, if the leader may commit it: only an entry of its own term (Raft §5.4.2,
 * Figure 8). `null` when nothing is committable.
 */
export function committable(state: LeaderSlice): LogId | null {
  const leader = state.leader;
  if (leader === null) return null;
  const accepted = leader.commit.quorumAccepted();
  if (accepted === null) return null;
  if (accepted.term !== leader.vote.term) return null;
  return accepted;
}

/**
 * After a commit: a two-step membership change whose joint config committed goes on with its second
 * half (returned, for the engine to append); a leader the committed membership removed steps down
 * (§6). Returns `null` when nothing is to append.
 */
export function afterCommit(state: LeaderSlice, now: number): Membership | null {
  const leader = state.leader;
  if (leader === null || !membershipCommitted(state)) return null;
  const m = state.membership.effective.membership;
  if (isJoint(m) && leader.membershipGoal !== null) {
    const goal = leader.membershipGoal;
    leader.membershipGoal = null;
    return nextMembership(m, goal.voters, { retain: goal.retain });
  }
  if (!isVoter(m, state.id)) becomeFollower(state, now);
  return null;
}

/** Assigns log ids to client payloads and appends them. Returns the assigned ids. */
export function leaderAppend(state: LeaderSlice, payloads: EntryPayload[]): LogId[] {
  const leader = requireLeader(state);
  payloads.forEach((p, i) => {
    if (p.type === 'membership') {
      throw new InvalidRequestError(`payloads[${i}]`, 'membership entries go through changeMembership');
    }
  });
  if (payloads.length === 0) return [];
  const first = nextIndex(state.log.last());
  const entries = payloads.map((payload, i) => ({
    logId: { term: leader.vote.term, index: first + i },
    payload,
  }));
  appendToLog(state, entries);
  return entries.map((e) => e.logId);
}

/** Appends the membership entry `m` of the leader's term. Returns its log id. */
export function appendMembershipEntry(state: LeaderSlice, m: Membership): LogId {
  const leader = requireLeader(state);
  const logId = { term: leader.vote.term, index: nextIndex(state.log.last()) };
  appendToLog(state, [{ logId, payload: { type: 'membership', membership: m } }]);
  return logId;
}

function requireNoChangeInProgress(state: LeaderSlice): void {
  if (!membershipCommitted(state)) {
    throw new ChangeMembershipError(
      'InProgress',
      'a membership change is in progress: wait for it to commit',
    );
  }
}

/**
 * Plans `changes` (openraft's `ChangeMembers`): returns the membership to append now and the voter set
 * the change leads to. A change of the voter set appends the joint config and remembers the uniform one
 * as the goal (appended once the joint one commits, §6); a change of nodes only is one entry. With
 * `expected` given, refuses ('MembershipChanged') unless the effective membership's log id equals it,
 * checked here so that no other change can slip in between the check and the proposal.
 */
export function planChangeMembersStep(
  state: LeaderSlice,
  changes: ChangeMembers,
  opts: { retain?: boolean; expected?: LogId | null },
): { next: Membership; voters: NodeId[] } {
  const leader = requireLeader(state);
  const effective = state.membership.effective;
  if (opts.expected !== undefined && !logIdEquals(effective.logId, opts.expected)) {
    throw new ChangeMembershipError(
      'MembershipChanged',
      `the membership is at ${formatLogId(effective.logId)}, not at the expected ${formatLogId(opts.expected)}`,
    );
  }
  requireNoChangeInProgress(state);
  const { next, target } = planChangeMembers(effective.membership, changes, {
    retain: opts.retain === true,
  });
  requireCaughtUp(state, leader, target.voters);
  leader.membershipGoal = isJoint(next) ? { voters: target.voters, retain: opts.retain === true } : null;
  return { next, voters: target.voters };
}

/** With `maxPromotionLag` set: every node becoming a voter is a learner within the lag. */
function requireCaughtUp(state: LeaderSlice, leader: LeaderState, voters: NodeId[]): void {
  const lag = state.config.maxPromotionLag;
  if (lag === undefined) return;
  const cur = state.membership.effective.membership;
  const lastIndex = indexOf(state.log.last());
  for (const id of voters) {
    if (id === state.id || isVoter(cur, id)) continue;
    const matching = leader.progress.get(id)?.matching ?? null;
    if (matching === null || lastIndex - matching.index > lag) {
      throw new ChangeMembershipError(
        'NotCaughtUp',
        `${id} matches ${formatLogId(matching)}, more than ${lag} entries behind ${formatLogId(state.log.last())}: add it as a learner and let it catch up first`,
      );
    }
  }
}

/** Plans adding `id` as a learner (a member of no config): returns the membership to append. */
export function planAddLearner(state: LeaderSlice, id: NodeId, node: Node): Membership {
  requireLeader(state);
  requireNoChangeInProgress(state);
  const cur = state.membership.effective.membership;
  if (isMember(cur, id)) {
    throw new ChangeMembershipError('Invalid', `${id} is already a member`);
  }
  try {
    return validateMembership({
      configs: cur.configs.map((x) => [...x]),
      nodes: { ...cur.nodes, [id]: node },
    });
  } catch (err) {
    throw new ChangeMembershipError('Invalid', (err as Error).message, { cause: err });
  }
}

/**
 * Asks voter `to` to take over (thesis §3.10). From now on this leader serves no lease read and sends
 * no heartbeat; every other voter is told at once, so that none holds this leader's lease against the
 * target, and the target last, once it matches the leader's current last log id (a target that lags
 * would ignore the request).
 */
export function transferLeader(state: LeaderSlice, to: NodeId): void {
  const leader = requireLeader(state);
  if (to === state.id) return;
  const m = state.membership.effective.membership;
  if (!isVoter(m, to)) {
    throw new NotLeaderError(`cannot transfer leadership to ${to}: not a voter`);
  }
  leader.transferTo = to;
  const lastLogId = state.log.last();
  const others = voterIds(m).filter((id) => id !== state.id && id !== to);
  for (const target of others.sort()) {
    state.emit({ type: 'sendTransferLeader', target, request: { from: state.vote, to, lastLogId } });
  }
  leader.transferPending = { lastLogId };
  askTransferTarget(state, to);
}

/** Sends the pending transfer request to `target` if it is the transfer target and has caught up. */
export function askTransferTarget(state: LeaderSlice, target: NodeId): void {
  const leader = state.leader;
  const pending = leader?.transferPending ?? null;
  if (leader === null || pending === null || leader.transferTo !== target) return;
  const matching = leader.progress.get(target)?.matching ?? null;
  if (compareLogId(matching, pending.lastLogId) < 0) return;
  leader.transferPending = null;
  state.emit({
    type: 'sendTransferLeader',
    target,
    request: { from: state.vote, to: target, lastLogId: pending.lastLogId },
  });
}

/** The leader's clock: heartbeats and check-quorum. */
export function leaderTick(state: LeaderSlice, now: number): void {
  const leader = requireLeader(state);
  if (isMember(state.membership.effective.membership, state.id)) leader.clock.update(state.id, now);
  heardFromLeader(state, now);
  if (state.config.checkQuorum && now - leader.clock.quorumAccepted() >= state.config.electionTimeoutMaxMs) {
    becomeFollower(state, now);
    return;
  }
  if (leader.transferTo === null && now >= leader.lastHeartbeatAt + state.config.heartbeatIntervalMs) {
    broadcastHeartbeat(state, now);
  }
  sendDeferred(state); // a safety net: sends deferred for a purge that no longer waits
}

/** Emits one heartbeat round to every target. */
export function broadcastHeartbeat(state: LeaderSlice, now: number): void {
  const leader = requireLeader(state);
  leader.lastHeartbeatAt = now;
  const targets = [...leader.progress.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, p]) => ({ id, matching: p.matching }));
  state.emit({
    type: 'broadcastHeartbeat',
    vote: leader.vote,
    committed: state.committed,
    sentAt: now,
    targets,
  });
}

/**
 * Until when lease reads are safe: `quorumAckedSendTime + lease × (1 − drift)`; `null` if not leader,
 * before an entry of its term is committed (until then the clock holds election-time placeholders,
 * not acks, and its voters honour no lease for it), or while a leadership transfer is in progress
 * (voters no longer honour this leader's lease).
 */
export function leaseValidUntil(
  state: Readonly<Pick<EngineCore, 'leader' | 'committed' | 'config'>>,
): number | null {
  const leader = state.leader;
  if (leader === null || leader.transferTo !== null) return null;
  if (state.committed === null || state.committed.term !== leader.vote.term) return null;
  return leader.clock.quorumAccepted() + state.config.leaseMs * (1 - state.config.maxClockDrift);
}
