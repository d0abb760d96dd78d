/**
 * Replication handler: what the leader sends to each target and what it learns from the replies
 * (Raft §5.3). Owns `leader.progress`, the targets' entries of `leader.commit` and `leader.clock`
 * (and their quorum sets), `logReversions` and `deferredSends`. What an outcome leads to beyond one
 * target (a commit, a transfer, a purge, a step-down) is returned to the engine, which sequences it.
 * Imports no other handler.
 */
import { ProgressEntry, quorumOfMembership } from '@flotilla/progress';
import { getNode, indexOf, type LogId, learnerIds, memberIds, type NodeId, type Vote } from '@flotilla/types';
import type { ReplicationResult, ReplicationTarget } from '../command.ts';
import type { EngineCore, LeaderState } from '../core.ts';

/** The state the replication handler works on (the log, the membership and `pendingPurge` are only read). */
export type ReplicationSlice = Pick<
  EngineCore,
  'logReversions' | 'logReversionSeq' | 'deferredSends' | 'emit' | 'ids'
> &
  Readonly<Pick<EngineCore, 'id' | 'config' | 'log' | 'membership' | 'pendingPurge' | 'leader'>>;

/** The leader's current targets with their nodes, sorted by id. */
export function replicationTargets(
  state: Readonly<Pick<EngineCore, 'id' | 'membership'>>,
): ReplicationTarget[] {
  const m = state.membership.effective.membership;
  const out: ReplicationTarget[] = [];
  for (const id of memberIds(m)) {
    const node = getNode(m, id);
    if (id !== state.id && node !== undefined) out.push({ id, node });
  }
  return out;
}

/** Asks the progress of `target` what to send next and emits it (nothing while something is in flight). */
export function replicateTo(state: ReplicationSlice, target: NodeId): void {
  const leader = state.leader;
  if (leader === null) return;
  const p = leader.progress.get(target);
  if (p === undefined || reversionRefused(state, target)) return;
  const inflight = p.nextSend(state.log, state.config.maxPayloadEntries, state.ids);
  if (inflight === null) return;
  switch (inflight.type) {
    case 'logs':
      state.emit({
        type: 'replicate',
        target,
        inflightId: inflight.id,
        payload: { type: 'logs', prev: inflight.prev, last: inflight.last },
      });
      return;
    case 'logsSince':
      state.emit({
        type: 'replicate',
        target,
        inflightId: inflight.id,
        payload: { type: 'logsSince', prev: inflight.prev },
      });
      return;
    case 'snapshot':
      state.emit({ type: 'replicateSnapshot', target, inflightId: inflight.id });
      return;
    case 'none':
      return;
  }
}

/** Sends to the targets deferred while a purge was pending (see `EngineCore.deferredSends`). */
export function sendDeferred(state: ReplicationSlice): void {
  if (state.deferredSends.size === 0 || state.pendingPurge !== null) return;
  const ids = [...state.deferredSends].sort();
  state.deferredSends.clear();
  for (const id of ids) replicateTo(state, id);
}

/** Sends to `target` only once the pending purge ran (see `EngineCore.deferredSends`). */
export function deferSend(state: ReplicationSlice, target: NodeId): void {
  state.deferredSends.add(target);
}

/** `replicateTo` for every target, in id order. */
export function replicateAll(state: ReplicationSlice): void {
  if (state.leader === null) return;
  for (const id of [...state.leader.progress.keys()].sort()) replicateTo(state, id);
}

/** Whether a replication request may still read the entry at `index` (a purge up to it must wait). */
export function logRangeInflight(state: Readonly<Pick<EngineCore, 'leader'>>, index: number): boolean {
  if (state.leader === null) return false;
  for (const p of state.leader.progress.values()) if (p.isLogRangeInflight(index)) return true;
  return false;
}

/**
 * The membership changed under a leader: keep the progress of surviving targets, add new ones,
 * drop removed ones, switch the quorum sets, and rebuild the streams without closing survivors.
 */
export function onLeaderMembershipChanged(state: ReplicationSlice, now: number): void {
  const leader = state.leader;
  if (leader === null) return;
  const m = state.membership.effective.membership;
  const members = new Set(memberIds(m));
  for (const id of [...leader.progress.keys()]) if (!members.has(id)) leader.progress.delete(id);
  const added: NodeId[] = [];
  for (const id of members) {
    if (id === state.id || leader.progress.has(id)) continue;
    added.push(id);
    leader.progress.set(
      id,
      ProgressEntry.forNewLeader(state.log.last(), {
        allowLogReversion: state.config.allowLogReversion,
        target: id,
      }),
    );
  }
  const quorum = quorumOfMembership(m);
  const learners = learnerIds(m);
  leader.commit.upgradeQuorumSet(quorum, learners);
  leader.clock.upgradeQuorumSet(quorum, learners);
  // A new target gets the benefit of the doubt for one election timeout, as at election time.
  for (const id of added) leader.clock.update(id, now);
  const targets = replicationTargets(state);
  const addrs = new Map<NodeId, string>();
  for (const t of targets) {
    addrs.set(t.id, t.node.addr);
    const before = leader.streamAddrs.get(t.id);
    // A moved target (`setNodes`) gets a new stream: what was in flight on the old one is released
    // (its late answers are stale) so that the new stream is given something to send.
    const progress = leader.progress.get(t.id);
    if (before !== undefined && before !== t.node.addr && progress !== undefined) {
      const inflight = progress.inflight;
      if (inflight.type !== 'none') progress.releaseInflight(inflight.id);
    }
  }
  leader.streamAddrs = addrs;
  state.emit({ type: 'rebuildReplicationStreams', vote: leader.vote, targets, closeOldStreams: false });
}

/**
 * What a replication outcome leads to, for the engine to sequence:
 * - `ignored`: nothing (stale, or no longer relevant);
 * - `acked`: the target's matching (and lease clock) moved: try to commit, maybe ask it to take over
 *   leadership, then send more and retry a pending purge;
 * - `resend`: send more to the target, then retry a pending purge;
 * - `refused`: a refused log reversion released the target's range: retry a pending purge only;
 * - `released`: the send failed and released its range: retry a pending purge first (so the next
 *   send to an unreachable target becomes a snapshot instead of re-pinning the range), then send
 *   again, or, if other ranges still hold the purge back, `deferSend` until it ran;
 * - `higherVote`: the target saw a greater vote: this leader is deposed.
 */
export type ReplicationOutcome =
  | { type: 'ignored' | 'acked' | 'resend' | 'refused' | 'released' }
  | { type: 'higherVote'; vote: Vote };

/**
 * Applies a replication outcome for `target` to its progress. `inflightId: null` is a heartbeat's
 * (moves matching and the lease only). Stale ids are ignored.
 */
export function applyReplicationResult(
  state: ReplicationSlice,
  target: NodeId,
  inflightId: number | null,
  result: ReplicationResult,
  now: number,
): ReplicationOutcome {
  const leader = state.leader;
  if (leader === null) return IGNORED;
  const p = leader.progress.get(target);
  if (p === undefined) return IGNORED;
  switch (result.type) {
    case 'matched': {
      const r =
        inflightId === null
          ? p.updateMatching(result.matching)
          : p.updateMatching(result.matching, inflightId);
      if (r.type === 'stale') return IGNORED;
      recordAck(leader, target, p, result.sentAt);
      return { type: 'acked' };
    }
    case 'conflict': {
      const index = result.prevLogId.index;
      if (inflightId !== null && (p.inflight.type === 'none' || p.inflight.id !== inflightId)) return IGNORED;
      if (reversionRefused(state, target)) {
        if (inflightId !== null) p.releaseInflight(inflightId);
        return IGNORED;
      }
      if (inflightId === null) {
        // A heartbeat's prevLogId is the target's matching: a conflict means its log went back
        // (unless the heartbeat predates a reset of the progress).
        if (result.sentAt < (reversionOf(state, target)?.at ?? Number.NEGATIVE_INFINITY)) return IGNORED;
        if (index > indexOf(p.matching)) return IGNORED;
      }
      if (index <= indexOf(p.matching)) {
        const allowed = p.allowLogReversion || p.allowReversionOnce;
        recordReversion(state, leader, target, p.matching, index, allowed, now);
        if (!allowed) {
          // Refused: stop sending to the target (a running range or pipeline is dropped).
          const cur = p.inflight;
          if (cur.type === 'logs' || cur.type === 'logsSince') p.releaseInflight(cur.id);
          return { type: 'refused' };
        }
      }
      if (inflightId === null) p.updateConflicting(index);
      else p.updateConflicting(index, inflightId);
      // After a reset the running send (e.g. a pipeline past the old matching) is superseded.
      if (inflightId === null && p.inflight.type !== 'none' && p.inflight.type !== 'snapshot') {
        p.releaseInflight(p.inflight.id);
      }
      return { type: 'resend' };
    }
    case 'snapshotInstalled': {
      if (inflightId === null) return IGNORED;
      if (p.updateSnapshotInstalled(result.lastLogId, inflightId).type === 'stale') return IGNORED;
      recordAck(leader, target, p, result.sentAt);
      return { type: 'acked' };
    }
    case 'higherVote':
      return { type: 'higherVote', vote: result.vote };
    case 'failed':
      if (inflightId === null || p.releaseInflight(inflightId).type === 'stale') return IGNORED;
      return { type: 'released' };
  }
}

const IGNORED: ReplicationOutcome = Object.freeze({ type: 'ignored' });

/**
 * Leader: whether the next log reversion of `target` is repaired (`allow`) or refused (openraft's
 * `allow_next_revert`), whatever `allowLogReversion` says; used once. A target this leader already
 * refused (and stopped replicating to) is resumed at once, so the reversion is detected again and
 * repaired. Returns `false` when `target` is not a replication target of this leader.
 */
export function allowNextRevert(state: ReplicationSlice, target: NodeId, allow: boolean): boolean {
  const p = state.leader?.progress.get(target);
  if (p === undefined) return false;
  p.allowReversionOnce = allow;
  if (allow && reversionRefused(state, target)) {
    state.logReversions.delete(target);
    replicateTo(state, target);
  }
  return true;
}

/** The reversion this leader recorded for `target`, if any (records of earlier terms do not count). */
function reversionOf(state: ReplicationSlice, target: NodeId) {
  const r = state.logReversions.get(target);
  return r !== undefined && state.leader !== null && r.term === state.leader.vote.term ? r : undefined;
}

/** Whether this leader refused a log reversion of `target`: nothing more is sent to it. */
function reversionRefused(state: ReplicationSlice, target: NodeId): boolean {
  return reversionOf(state, target)?.repaired === false;
}

function recordReversion(
  state: ReplicationSlice,
  leader: LeaderState,
  target: NodeId,
  matching: LogId | null,
  conflictIndex: number,
  repaired: boolean,
  now: number,
): void {
  state.logReversionSeq += 1;
  const seq = state.logReversionSeq;
  const term = leader.vote.term;
  state.logReversions.set(target, { target, term, matching, conflictIndex, repaired, at: now, seq });
}

function recordAck(leader: LeaderState, target: NodeId, p: ProgressEntry, sentAt: number): void {
  leader.clock.update(target, sentAt);
  leader.commit.update(target, p.matching);
}
