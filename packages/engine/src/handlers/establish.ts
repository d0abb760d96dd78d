/**
 * Establish handler: turning a candidate that won into a leader (Raft §5.2, §8): commit the vote,
 * set up per-target progress and the quorum trackers, open the streams, append the blank entry of
 * the new term and, if elected in a joint config, aim to finish that membership change (§6). Owns
 * entering the leader role (`candidate` → `leader`). The first sends are the engine's next step.
 * Imports `log.ts`, `replication.ts` (the targets) and `vote.ts`.
 */
import { logIdProgress, ProgressEntry, quorumOfMembership, timestampProgress } from '@flotilla/progress';
import { isJoint, isMember, learnerIds, memberIds, nextIndex, type Vote } from '@flotilla/types';
import { type EngineCore, invariant } from '../core.ts';
import { appendToLog, type LogSlice } from './log.ts';
import { replicationTargets } from './replication.ts';
import { heardFromLeader, updateVote, type VoteSlice } from './vote.ts';

/** The state the establish handler works on (`io` is only read). */
export type EstablishSlice = LogSlice & VoteSlice & Readonly<Pick<EngineCore, 'io'>>;

/** The candidate won: becomes leader of its term. Throws if not a candidate with a real vote. */
export function becomeLeader(state: EstablishSlice, now: number): void {
  const cand = state.candidate;
  invariant(state.id, cand !== null && !cand.preVote, () => 'becomeLeader without a won election');
  const vote: Vote = { ...cand.vote, committed: true };
  state.candidate = null;
  updateVote(state, vote);
  const m = state.membership.effective.membership;
  const quorum = quorumOfMembership(m);
  const learners = learnerIds(m);
  const commit = logIdProgress(quorum, learners);
  const clock = timestampProgress(quorum, learners);
  const last = state.log.last();
  const progress = new Map<string, ProgressEntry>();
  for (const id of memberIds(m)) {
    if (id === state.id) continue;
    progress.set(
      id,
      ProgressEntry.forNewLeader(last, { allowLogReversion: state.config.allowLogReversion, target: id }),
    );
    clock.update(id, now);
  }
  // A leader outside its effective membership (an uncommitted change removed it) counts for nothing.
  if (isMember(m, state.id)) {
    clock.update(state.id, now);
    // Every write issued in this term is a prefix of the leader's log: what is durable counts.
    if (state.io.flushed.vote.term === vote.term) commit.update(state.id, state.io.flushed.lastLogId);
  }
  state.leader = {
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
    streamAddrs: new Map(),
  };
  heardFromLeader(state, now);
  const targets = replicationTargets(state);
  for (const t of targets) state.leader.streamAddrs.set(t.id, t.node.addr);
  state.emit({ type: 'rebuildReplicationStreams', vote, targets, closeOldStreams: true });
  appendToLog(state, [{ logId: { term: vote.term, index: nextIndex(last) }, payload: { type: 'blank' } }]);
}
