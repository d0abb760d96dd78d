/**
 * Replication handler: what the leader sends to each target and what it learns from the replies
 * (Raft §5.3). Owns `leader.progress`, `leader.commit` (followers' part), `leader.clock` and
 * `logReversions`.
 */
import { ProgressEntry, quorumOfMembership } from '@flotilla/progress';
import { getNode, indexOf, type LogId, learnerIds, memberIds, type NodeId } from '@flotilla/types';
import type { ReplicationResult, ReplicationTarget } from '../command.ts';
import type { EngineCore } from '../core.ts';
import { askTransferTarget, tryCommit } from './leader.ts';
import { tryPurge } from './snapshot.ts';
import { adoptHigherTerm } from './vote.ts';

/** The leader's current targets with their nodes, sorted by id. */
export function replicationTargets(c: EngineCore): ReplicationTarget[] {
  const m = c.membership.effective.membership;
  const out: ReplicationTarget[] = [];
  for (const id of memberIds(m)) {
    const node = getNode(m, id);
    if (id !== c.id && node !== undefined) out.push({ id, node });
  }
  return out;
}

/** Asks the progress of `target` what to send next and emits it (nothing while something is in flight). */
export function replicateTo(c: EngineCore, target: NodeId): void {
  const leader = c.leader;
  if (leader === null) return;
  const p = leader.progress.get(target);
  if (p === undefined || reversionRefused(c, target)) return;
  const inflight = p.nextSend(c.log, c.config.maxPayloadEntries, c.ids);
  if (inflight === null) return;
  switch (inflight.type) {
    case 'logs':
      c.emit({
        type: 'replicate',
        target,
        inflightId: inflight.id,
        payload: { type: 'logs', prev: inflight.prev, last: inflight.last },
      });
      return;
    case 'logsSince':
      c.emit({
        type: 'replicate',
        target,
        inflightId: inflight.id,
        payload: { type: 'logsSince', prev: inflight.prev },
      });
      return;
    case 'snapshot':
      c.emit({ type: 'replicateSnapshot', target, inflightId: inflight.id });
      return;
    case 'none':
      return;
  }
}

/** Sends to the targets deferred while a purge was pending (see `EngineCore.deferredSends`). */
export function sendDeferred(c: EngineCore): void {
  if (c.deferredSends.size === 0 || c.pendingPurge !== null) return;
  const ids = [...c.deferredSends].sort();
  c.deferredSends.clear();
  for (const id of ids) replicateTo(c, id);
}

/** `replicateTo` for every target, in id order. */
export function replicateAll(c: EngineCore): void {
  if (c.leader === null) return;
  for (const id of [...c.leader.progress.keys()].sort()) replicateTo(c, id);
}

/**
 * The membership changed under a leader: keep the progress of surviving targets, add new ones,
 * drop removed ones, switch the quorum sets, and rebuild the streams without closing survivors.
 */
export function onLeaderMembershipChanged(c: EngineCore, now: number): void {
  const leader = c.leader;
  if (leader === null) return;
  const m = c.membership.effective.membership;
  const members = new Set(memberIds(m));
  for (const id of [...leader.progress.keys()]) if (!members.has(id)) leader.progress.delete(id);
  const added: NodeId[] = [];
  for (const id of members) {
    if (id === c.id || leader.progress.has(id)) continue;
    added.push(id);
    leader.progress.set(
      id,
      ProgressEntry.forNewLeader(c.log.last(), { allowLogReversion: c.config.allowLogReversion, target: id }),
    );
  }
  const quorum = quorumOfMembership(m);
  const learners = learnerIds(m);
  leader.commit.upgradeQuorumSet(quorum, learners);
  leader.clock.upgradeQuorumSet(quorum, learners);
  // A new target gets the benefit of the doubt for one election timeout, as at election time.
  for (const id of added) leader.clock.update(id, now);
  c.emit({
    type: 'rebuildReplicationStreams',
    vote: leader.vote,
    targets: replicationTargets(c),
    closeOldStreams: false,
  });
}

/**
 * A replication outcome for `target`. `inflightId: null` is a heartbeat ack (moves matching and the
 * lease only). Stale ids are ignored.
 */
export function onReplicationProgress(
  c: EngineCore,
  target: NodeId,
  inflightId: number | null,
  result: ReplicationResult,
  now: number,
): void {
  const leader = c.leader;
  if (leader === null) return;
  const p = leader.progress.get(target);
  if (p === undefined) return;
  switch (result.type) {
    case 'matched': {
      const r =
        inflightId === null
          ? p.updateMatching(result.matching)
          : p.updateMatching(result.matching, inflightId);
      if (r.type === 'stale') return;
      acked(c, target, result.sentAt);
      break;
    }
    case 'conflict': {
      const index = result.prevLogId.index;
      if (inflightId !== null && (p.inflight.type === 'none' || p.inflight.id !== inflightId)) return;
      if (reversionRefused(c, target)) {
        if (inflightId !== null) p.releaseInflight(inflightId);
        return;
      }
      if (inflightId === null) {
        // A heartbeat's prevLogId is the target's matching: a conflict means its log went back
        // (unless the heartbeat predates a reset of the progress).
        if (result.sentAt < (reversionOf(c, target)?.at ?? Number.NEGATIVE_INFINITY)) return;
        if (index > indexOf(p.matching)) return;
      }
      if (index <= indexOf(p.matching)) {
        const allowed = p.allowLogReversion || p.allowReversionOnce;
        recordReversion(c, target, p.matching, index, allowed, now);
        if (!allowed) {
          // Refused: stop sending to the target (a running range or pipeline is dropped).
          const cur = p.inflight;
          if (cur.type === 'logs' || cur.type === 'logsSince') p.releaseInflight(cur.id);
          tryPurge(c);
          return;
        }
      }
      if (inflightId === null) p.updateConflicting(index);
      else p.updateConflicting(index, inflightId);
      // After a reset the running send (e.g. a pipeline past the old matching) is superseded.
      if (inflightId === null && p.inflight.type !== 'none' && p.inflight.type !== 'snapshot') {
        p.releaseInflight(p.inflight.id);
      }
      break;
    }
    case 'snapshotInstalled': {
      if (inflightId === null) return;
      if (p.updateSnapshotInstalled(result.lastLogId, inflightId).type === 'stale') return;
      acked(c, target, result.sentAt);
      break;
    }
    case 'higherVote':
      adoptHigherTerm(c, result.vote, now);
      return;
    case 'failed':
      if (inflightId === null || p.releaseInflight(inflightId).type === 'stale') return;
      // The released range no longer holds back a pending purge: purge before re-sending, so the
      // next send to an unreachable target becomes a snapshot instead of re-pinning the range. If
      // other ranges still hold the purge back, send to this target only once it ran.
      tryPurge(c);
      if (c.pendingPurge !== null) {
        c.deferredSends.add(target);
        return;
      }
      break;
  }
  replicateTo(c, target);
  tryPurge(c);
}

/** The reversion this leader recorded for `target`, if any (records of earlier terms do not count). */
function reversionOf(c: EngineCore, target: NodeId) {
  const r = c.logReversions.get(target);
  return r !== undefined && c.leader !== null && r.term === c.leader.vote.term ? r : undefined;
}

/** Whether this leader refused a log reversion of `target`: nothing more is sent to it. */
function reversionRefused(c: EngineCore, target: NodeId): boolean {
  return reversionOf(c, target)?.repaired === false;
}

function recordReversion(
  c: EngineCore,
  target: NodeId,
  matching: LogId | null,
  conflictIndex: number,
  repaired: boolean,
  now: number,
): void {
  const seq = Math.max(0, ...[...c.logReversions.values()].map((r) => r.seq)) + 1;
  const term = c.leader!.vote.term;
  c.logReversions.set(target, { target, term, matching, conflictIndex, repaired, at: now, seq });
}

function acked(c: EngineCore, target: NodeId, sentAt: number): void {
  const leader = c.leader!;
  const p = leader.progress.get(target)!;
  leader.clock.update(target, sentAt);
  leader.commit.update(target, p.matching);
  tryCommit(c);
  askTransferTarget(c, target);
}
