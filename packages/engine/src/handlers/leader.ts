/**
 * Leader handler: client proposals, commit (Raft §5.3, §5.4.2), membership changes (§6),
 * heartbeats, check-quorum, lease and leadership transfer. Owns `leader` and `committed` (as leader).
 */
import {
  ChangeMembershipError,
  compareLogId,
  type EntryPayload,
  ForwardToLeaderError,
  formatLogId,
  getNode,
  hasErrorCode,
  InvalidRequestError,
  indexOf,
  isJoint,
  isMember,
  isVoter,
  type LogId,
  leaderOf,
  type Membership,
  type Node,
  type NodeId,
  NotLeaderError,
  nextIndex,
  nextMembership,
  validateMembership,
  voterIds,
} from '@flotilla/types';
import type { EngineCore, LeaderState } from '../core.ts';
import { appendToLog, commitMembership, membershipCommitted } from './log.ts';
import { onLeaderMembershipChanged, replicateAll, sendDeferred } from './replication.ts';
import { becomeFollower } from './server-state.ts';
import { maybeBuildSnapshot } from './snapshot.ts';

/** The leader state, or a `ForwardToLeaderError` naming the leader this node knows of. */
export function requireLeader(c: EngineCore): LeaderState {
  if (c.leader !== null) return c.leader;
  const id = leaderOf(c.vote);
  const node = id === null ? undefined : getNode(c.membership.effective.membership, id);
  throw new ForwardToLeaderError(id === c.id ? null : id, id === c.id ? null : (node ?? null));
}

/**
 * Records the leader's own accepted log id (its flushed log, or its appended one under the planted
 * bug). A leader being removed is no longer in the quorum set and does not count (§6).
 */
export function selfAccepted(c: EngineCore, logId: LogId | null): void {
  const leader = c.leader;
  if (leader === null || !isMember(c.membership.effective.membership, c.id)) return;
  leader.commit.update(c.id, logId);
  tryCommit(c);
}

/** Raises `committed` to `to` and hands the newly committed entries to the state machine. */
export function advanceCommitted(c: EngineCore, to: LogId, now: number): void {
  if (compareLogId(to, c.committed) <= 0) return;
  c.committed = to;
  commitMembership(c);
  if (compareLogId(to, c.applying) > 0) {
    c.emit({ type: 'saveCommittedAndApply', prevCommitted: c.applying, committed: to });
    c.applying = to;
  }
  if (c.leader !== null) {
    c.emit({ type: 'replicateCommitted', committed: to });
    afterLeaderCommit(c, now);
  }
  maybeBuildSnapshot(c);
}

/** Commits what a quorum accepted, if it is of the leader's term (Raft §5.4.2, Figure 8). */
export function tryCommit(c: EngineCore): void {
  const leader = c.leader;
  if (leader === null) return;
  const accepted = leader.commit.quorumAccepted();
  if (accepted === null) return;
  if (accepted.term !== leader.vote.term && !c.bug('commitOldTermByCount')) return;
  advanceCommitted(c, accepted, c.now);
}

/** After a commit: finish a two-step membership change, or step down if removed (§6). */
function afterLeaderCommit(c: EngineCore, now: number): void {
  const leader = c.leader;
  if (leader === null || !membershipCommitted(c)) return;
  const m = c.membership.effective.membership;
  if (isJoint(m) && leader.membershipGoal !== null) {
    const goal = leader.membershipGoal;
    leader.membershipGoal = null;
    appendMembership(c, nextMembership(m, goal.voters, { retain: goal.retain }), now);
    return;
  }
  if (!isVoter(m, c.id)) becomeFollower(c, now);
}

/** Assigns log ids to client payloads and appends them. Returns the assigned ids. */
export function leaderAppend(c: EngineCore, payloads: EntryPayload[], now: number): LogId[] {
  const leader = requireLeader(c);
  payloads.forEach((p, i) => {
    if (p.type === 'membership') {
      throw new InvalidRequestError(`payloads[${i}]`, 'membership entries go through changeMembership');
    }
  });
  if (payloads.length === 0) return [];
  const first = nextIndex(c.log.last());
  const entries = payloads.map((payload, i) => ({
    logId: { term: leader.vote.term, index: first + i },
    payload,
  }));
  appendToLog(c, entries);
  if (c.bug('countLeaderBeforeFlush')) selfAccepted(c, c.log.last());
  replicateAll(c);
  void now;
  return entries.map((e) => e.logId);
}

function appendMembership(c: EngineCore, m: Membership, now: number): LogId {
  const leader = c.leader!;
  const logId = { term: leader.vote.term, index: nextIndex(c.log.last()) };
  appendToLog(c, [{ logId, payload: { type: 'membership', membership: m } }]);
  onLeaderMembershipChanged(c, now);
  if (c.bug('countLeaderBeforeFlush')) selfAccepted(c, c.log.last());
  else tryCommit(c);
  replicateAll(c);
  return logId;
}

function requireNoChangeInProgress(c: EngineCore): void {
  if (!membershipCommitted(c)) {
    throw new ChangeMembershipError(
      'InProgress',
      'a membership change is in progress: wait for it to commit',
    );
  }
}

/**
 * Changes the voter set to `voters` through joint consensus (§6): appends the joint config now and
 * the uniform one once the joint one commits. Returns the log id of the first entry.
 */
export function changeMembership(
  c: EngineCore,
  voters: NodeId[],
  opts: { retain?: boolean; addNodes?: Record<NodeId, Node> },
  now: number,
): LogId {
  const leader = requireLeader(c);
  requireNoChangeInProgress(c);
  if (voters.length === 0) throw new ChangeMembershipError('EmptyMembership', 'the new voter set is empty');
  let next: Membership;
  try {
    next = nextMembership(c.membership.effective.membership, voters, opts);
  } catch (err) {
    if (hasErrorCode(err)) {
      const reason = (err as { reason?: string }).reason === 'MissingNode' ? 'LearnerNotFound' : 'Invalid';
      throw new ChangeMembershipError(reason, err.message, { cause: err });
    }
    throw err;
  }
  requireCaughtUp(c, leader, voters);
  leader.membershipGoal = isJoint(next) ? { voters: [...voters], retain: opts.retain === true } : null;
  return appendMembership(c, next, now);
}

/** With `maxPromotionLag` set: every node becoming a voter is a learner within the lag. */
function requireCaughtUp(c: EngineCore, leader: LeaderState, voters: NodeId[]): void {
  const lag = c.config.maxPromotionLag;
  if (lag === undefined) return;
  const cur = c.membership.effective.membership;
  const lastIndex = indexOf(c.log.last());
  for (const id of voters) {
    if (id === c.id || isVoter(cur, id)) continue;
    const matching = leader.progress.get(id)?.matching ?? null;
    if (matching === null || lastIndex - matching.index > lag) {
      throw new ChangeMembershipError(
        'NotCaughtUp',
        `${id} matches ${formatLogId(matching)}, more than ${lag} entries behind ${formatLogId(c.log.last())}: add it as a learner and let it catch up first`,
      );
    }
  }
}

/** Adds `id` as a learner (a member of no config). Returns the membership entry's id. */
export function addLearner(c: EngineCore, id: NodeId, node: Node, now: number): LogId {
  requireLeader(c);
  requireNoChangeInProgress(c);
  const cur = c.membership.effective.membership;
  if (isMember(cur, id)) {
    throw new ChangeMembershipError('Invalid', `${id} is already a member`);
  }
  let next: Membership;
  try {
    next = validateMembership({
      configs: cur.configs.map((x) => [...x]),
      nodes: { ...cur.nodes, [id]: node },
    });
  } catch (err) {
    throw new ChangeMembershipError('Invalid', (err as Error).message, { cause: err });
  }
  return appendMembership(c, next, now);
}

/**
 * Asks voter `to` to take over (thesis §3.10). From now on this leader serves no lease read and sends
 * no heartbeat; every other voter is told at once, so that none holds this leader's lease against the
 * target, and the target last, once it matches the leader's current last log id (a target that lags
 * would ignore the request).
 */
export function transferLeader(c: EngineCore, to: NodeId, _now: number): void {
  const leader = requireLeader(c);
  if (to === c.id) return;
  const m = c.membership.effective.membership;
  if (!isVoter(m, to)) {
    throw new NotLeaderError(`cannot transfer leadership to ${to}: not a voter`);
  }
  leader.transferTo = to;
  const lastLogId = c.log.last();
  const others = voterIds(m).filter((id) => id !== c.id && id !== to);
  for (const target of others.sort()) {
    c.emit({ type: 'sendTransferLeader', target, request: { from: c.vote, to, lastLogId } });
  }
  leader.transferPending = { lastLogId };
  askTransferTarget(c, to);
}

/** Sends the pending transfer request to `target` if it is the transfer target and has caught up. */
export function askTransferTarget(c: EngineCore, target: NodeId): void {
  const leader = c.leader;
  const pending = leader?.transferPending ?? null;
  if (leader === null || pending === null || leader.transferTo !== target) return;
  const matching = leader.progress.get(target)?.matching ?? null;
  if (compareLogId(matching, pending.lastLogId) < 0) return;
  leader.transferPending = null;
  c.emit({
    type: 'sendTransferLeader',
    target,
    request: { from: c.vote, to: target, lastLogId: pending.lastLogId },
  });
}

/** The leader's clock: heartbeats and check-quorum. */
export function leaderTick(c: EngineCore, now: number): void {
  const leader = c.leader!;
  if (isMember(c.membership.effective.membership, c.id)) leader.clock.update(c.id, now);
  c.lastLeaderContact = now;
  if (c.config.checkQuorum && now - leader.clock.quorumAccepted() >= c.config.electionTimeoutMaxMs) {
    becomeFollower(c, now);
    return;
  }
  if (leader.transferTo === null && now >= leader.lastHeartbeatAt + c.config.heartbeatIntervalMs) {
    broadcastHeartbeat(c, now);
  }
  sendDeferred(c); // a safety net: sends deferred for a purge that no longer waits
}

/** Emits one heartbeat round to every target. */
export function broadcastHeartbeat(c: EngineCore, now: number): void {
  const leader = requireLeader(c);
  leader.lastHeartbeatAt = now;
  const targets = [...leader.progress.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, p]) => ({ id, matching: p.matching }));
  c.emit({ type: 'broadcastHeartbeat', vote: leader.vote, committed: c.committed, sentAt: now, targets });
}

/**
 * Until when lease reads are safe: `quorumAckedSendTime + lease × (1 − drift)`; `null` if not leader,
 * before an entry of its term is committed (until then the clock holds election-time placeholders,
 * not acks, and its voters honour no lease for it), or while a leadership transfer is in progress
 * (voters no longer honour this leader's lease).
 */
export function leaseValidUntil(c: EngineCore): number | null {
  const leader = c.leader;
  if (leader === null || leader.transferTo !== null) return null;
  if (c.committed === null || c.committed.term !== leader.vote.term) return null;
  return leader.clock.quorumAccepted() + c.config.leaseMs * (1 - c.config.maxClockDrift);
}
