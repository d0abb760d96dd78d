/**
 * The metrics of now, read off the engine and the state machine's applied id.
 *
 * Owns: the mapping from engine state to `RaftMetrics`. Must never: change any state.
 */
import type { Engine } from '@flotilla/engine';
import type { LogId, NodeId, RaftMetrics, ReplicationTargetMetrics } from '@flotilla/types';
import type { RaftConfig } from '../config.ts';

/**
 * The metrics of now. `applied` is what the state machine holds (the worker's view): the engine counts
 * a received snapshot applied once it hands it over, before the state machine installed it, and a
 * reader waiting for an applied index must find the state there.
 */
export function metricsOf(
  id: NodeId,
  engine: Engine,
  applied: LogId | null,
  config: RaftConfig,
  now: number,
  err: Error | null,
  lastAcked: (target: NodeId) => number | null,
): RaftMetrics {
  const state = engine.serverState();
  const vote = engine.vote();
  const last = engine.lastLogId();
  const lease = engine.leaseValidUntil();
  // leaseValidUntil = quorum-acked send time + lease × (1 − drift): recover the ack time from it.
  // One source: `millisSinceQuorumAck` is derived from this value, never computed apart.
  const ackedAt = lease === null ? null : lease - config.leaseMs * (1 - config.maxClockDrift);
  const lastQuorumAcked = ackedAt !== null && Number.isFinite(ackedAt) ? ackedAt : null;
  const { effective, committed } = engine.membership();
  return {
    id,
    state,
    currentTerm: vote.term,
    vote,
    lastLogIndex: last === null ? null : last.index,
    committed: engine.committed(),
    lastApplied: applied,
    snapshot: engine.snapshot()?.lastLogId ?? null,
    purged: engine.purged(),
    currentLeader: engine.currentLeader(),
    membership: effective,
    committedMembership: committed,
    replication: replicationOf(engine, lastAcked),
    lastQuorumAcked,
    millisSinceQuorumAck: lastQuorumAcked === null ? null : Math.max(0, Math.round(now - lastQuorumAcked)),
    error: err === null ? null : { code: (err as { code?: string }).code ?? 'UNKNOWN', message: err.message },
  };
}

/** The engine's per-target view with each target's last acknowledgement time added. */
function replicationOf(
  engine: Engine,
  lastAcked: (target: NodeId) => number | null,
): Record<NodeId, ReplicationTargetMetrics> | null {
  const r = engine.replicationMetrics();
  if (r === null) return null;
  const out: Record<NodeId, ReplicationTargetMetrics> = {};
  for (const id of Object.keys(r)) {
    const t = r[id];
    if (t !== undefined) out[id] = { ...t, lastAcked: lastAcked(id) };
  }
  return out;
}
