/**
 * Establish handler: turning a candidate that won into a leader (Raft §5.2, §8): commit the vote,
 * set up per-target progress, open the streams, append the blank entry of the new term and, if
 * elected in a joint config, aim to finish that membership change (§6).
 */
import { logIdProgress, ProgressEntry, quorumOfMembership, timestampProgress } from '@flotilla/progress';
import { isJoint, isMember, learnerIds, memberIds, nextIndex, type Vote } from '@flotilla/types';
import type { EngineCore } from '../core.ts';
import { selfAccepted } from './leader.ts';
import { appendToLog } from './log.ts';
import { replicateAll, replicationTargets } from './replication.ts';
import { updateVote } from './vote.ts';

/** The candidate won: becomes leader of its term. Throws if not a candidate with a real vote. */
export function becomeLeader(c: EngineCore, now: number): void {
  const cand = c.candidate;
  c.assert(cand !== null && !cand.preVote, () => 'becomeLeader without a won election');
  const vote: Vote = { ...cand.vote, committed: true };
  c.candidate = null;
  updateVote(c, vote);
  const m = c.membership.effective.membership;
  const quorum = quorumOfMembership(m);
  const learners = learnerIds(m);
  const commit = logIdProgress(quorum, learners);
  const clock = timestampProgress(quorum, learners);
  const last = c.log.last();
  const progress = new Map<string, ProgressEntry>();
  for (const id of memberIds(m)) {
    if (id === c.id) continue;
    progress.set(
      id,
      ProgressEntry.forNewLeader(last, { allowLogReversion: c.config.allowLogReversion, target: id }),
    );
    clock.update(id, now);
  }
  // A leader outside its effective membership (an uncommitted change removed it) counts for nothing.
  if (isMember(m, c.id)) {
    clock.update(c.id, now);
    // Every write issued in this term is a prefix of the leader's log: what is durable counts.
    if (c.io.flushed.vote.term === vote.term) commit.update(c.id, c.io.flushed.lastLogId);
  }
  c.leader = {
    vote,
    progress,
    commit,
    clock,
    lastHeartbeatAt: now,
    since: now,
    // Elected in a joint config (its previous leader is gone): finish the change it started, to the
    // joint config's second half, once the joint config commits (§6). Removed voters leave `nodes`
    // (the API's default: whether the old leader was asked to retain them is not in the log).
    membershipGoal: isJoint(m) ? { voters: [...m.configs[m.configs.length - 1]!], retain: false } : null,
    transferTo: null,
    transferPending: null,
  };
  c.lastLeaderContact = now;
  c.emit({ type: 'rebuildReplicationStreams', vote, targets: replicationTargets(c), closeOldStreams: true });
  appendToLog(c, [{ logId: { term: vote.term, index: nextIndex(last) }, payload: { type: 'blank' } }]);
  if (c.bug('countLeaderBeforeFlush')) selfAccepted(c, c.log.last());
  replicateAll(c);
}
