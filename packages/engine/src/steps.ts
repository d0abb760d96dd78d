/**
 * The engine's sequencing of steps that cross handlers (openraft's `engine_impl.rs`): a handler
 * works on its own slice of state and returns what its input leads to beyond that slice; the
 * functions here run the next handlers in order. This is the only module that imports more than one
 * handler for one input; `engine.ts` calls these and the handlers' read-only queries.
 *
 * Handler import DAG (an arrow is "imports"; nothing else imports a handler):
 *
 * ```text
 * establish → log, replication, vote          following → commit, log, server-state, vote
 * leader → log, replication, server-state, vote   snapshot → log     commit → log
 * vote → server-state      replication, log, server-state → (none)
 * ```
 */
import type {
  AppendEntriesRequest,
  InstallSnapshotRequest,
  LogId,
  Membership,
  NodeId,
} from '@flotilla/types';
import type { ReplicationResult } from './command.ts';
import type { EngineCore } from './core.ts';
import * as commitH from './handlers/commit.ts';
import { becomeLeader as establishLeader } from './handlers/establish.ts';
import * as followingH from './handlers/following.ts';
import * as leaderH from './handlers/leader.ts';
import * as replicationH from './handlers/replication.ts';
import * as snapshotH from './handlers/snapshot.ts';
import type { ElectionOutcome } from './handlers/vote.ts';
import * as voteH from './handlers/vote.ts';

/** A won election makes this node leader. */
export function afterElection(core: EngineCore, outcome: ElectionOutcome, now: number): void {
  if (outcome === 'won') becomeLeader(core, now);
}

/** The candidate won: establish the leadership, then the first sends. */
function becomeLeader(core: EngineCore, now: number): void {
  establishLeader(core, now);
  replicationH.replicateAll(core);
}

/** The leader's own log is accepted up to `logId` (flushed): it counts toward the commit quorum. */
export function selfAccepted(core: EngineCore, logId: LogId | null): void {
  if (leaderH.recordSelfAccepted(core, logId)) commitByQuorum(core);
}

/** Leader: commits what a quorum accepted, if the commit rule allows it. */
function commitByQuorum(core: EngineCore): void {
  const to = leaderH.committable(core);
  if (to !== null && commitH.advanceCommitted(core, to)) afterCommitted(core);
}

/**
 * `committed` advanced (published by `saveCommittedAndApply`): a leader goes on with a membership change (or steps down if
 * removed); any node may then build a snapshot.
 */
function afterCommitted(core: EngineCore): void {
  if (core.leader !== null) {
    const next = leaderH.afterCommit(core, core.now);
    if (next !== null) appendMembership(core, next);
  }
  snapshotH.maybeBuildSnapshot(core);
}

/** Leader: appends membership `m`, switches replication to it and sends. Returns the entry's id. */
export function appendMembership(core: EngineCore, m: Membership): LogId {
  const logId = leaderH.appendMembershipEntry(core, m);
  replicationH.onLeaderMembershipChanged(core, core.now);
  commitByQuorum(core);
  replicationH.replicateAll(core);
  return logId;
}

/** Leader: appends client payloads and sends them. */
export function leaderAppend(
  core: EngineCore,
  payloads: Parameters<typeof leaderH.leaderAppend>[1],
): LogId[] {
  const ids = leaderH.leaderAppend(core, payloads);
  if (ids.length === 0) return ids;
  replicationH.replicateAll(core);
  return ids;
}

/** A replication outcome for `target`, and what it leads to. */
export function onReplicationProgress(
  core: EngineCore,
  target: NodeId,
  inflightId: number | null,
  result: ReplicationResult,
  now: number,
): void {
  const outcome = replicationH.applyReplicationResult(core, target, inflightId, result, now);
  switch (outcome.type) {
    case 'ignored':
      return;
    case 'higherVote':
      voteH.adoptHigherTerm(core, outcome.vote, now);
      return;
    case 'refused':
      runPendingPurge(core);
      return;
    case 'released':
      runPendingPurge(core);
      if (core.pendingPurge !== null) {
        replicationH.deferSend(core, target);
        return;
      }
      break;
    case 'acked':
      commitByQuorum(core);
      leaderH.askTransferTarget(core, target);
      break;
    case 'resend':
      break;
  }
  replicationH.replicateTo(core, target);
  runPendingPurge(core);
}

/** Runs the pending purge unless a replication request may still read the range; then deferred sends. */
export function runPendingPurge(core: EngineCore): void {
  const upto = core.pendingPurge;
  if (upto === null || replicationH.logRangeInflight(core, upto.index)) return;
  snapshotH.purgeNow(core);
  replicationH.sendDeferred(core);
}

/** AppendEntries from a leader: the log work, a commit's consequences, then the answer. */
export function handleAppendEntries(
  core: EngineCore,
  req: AppendEntriesRequest,
  reply: unknown,
  now: number,
): void {
  const outcome = followingH.appendFromLeader(core, req, now);
  if (outcome.committed) afterCommitted(core);
  followingH.respondAppend(core, reply, outcome);
}

/** A snapshot from a leader: accept its vote, install it, record it as committed, answer. */
export function handleInstallSnapshot(
  core: EngineCore,
  req: InstallSnapshotRequest,
  reply: unknown,
  now: number,
): void {
  if (!followingH.acceptLeaderVote(core, req.vote, now)) {
    snapshotH.respondInstall(core, reply, false);
    return;
  }
  const meta = req.meta;
  if (snapshotH.installFromLeader(core, meta)) {
    commitH.commitSnapshot(core, meta.lastLogId);
    followingH.acceptedUpTo(core, meta.lastLogId);
  }
  snapshotH.respondInstall(core, reply, true);
}

/** The state machine applied up to `logId`: maybe build a snapshot. */
export function onApplied(core: EngineCore, logId: LogId): void {
  commitH.onApplied(core, logId);
  snapshotH.maybeBuildSnapshot(core);
}

/** A snapshot build finished: adopt it and purge behind it. */
export function onSnapshotBuilt(
  core: EngineCore,
  meta: Parameters<typeof snapshotH.onSnapshotBuilt>[1],
): void {
  if (snapshotH.onSnapshotBuilt(core, meta)) schedulePurge(core);
}

/** Plans the policy's purge and runs it when no stream may read the range. */
export function schedulePurge(core: EngineCore): void {
  if (snapshotH.planPurge(core)) runPendingPurge(core);
}

/** An explicit purge up to `index` (see `Engine.purgeUpTo`). */
export function purgeUpTo(core: EngineCore, index: number): LogId | null {
  const id = snapshotH.planPurgeUpTo(core, index);
  if (id !== null) runPendingPurge(core);
  return id;
}
