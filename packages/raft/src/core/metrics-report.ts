/**
 * The metrics of now, read off the engine and the state machine's applied id.
 *
 * Owns: the mapping from engine state to `RaftMetrics`. Must never: change any state.
 */
import type { Engine } from '@flotilla/engine';
import type { LogId, NodeId, RaftMetrics } from '@flotilla/types';
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
): RaftMetrics {
  const state = engine.serverState();
  const vote = engine.vote();
  const last = engine.lastLogId();
  const lease = engine.leaseValidUntil();
  // leaseValidUntil = quorum-acked send time + lease × (1 − drift): recover the ack time from it.
  const ackedAt = lease === null ? null : lease - config.leaseMs * (1 - config.maxClockDrift);
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
    membership: engine.membership().effective,
    replication: engine.replicationMetrics(),
    millisSinceQuorumAck:
      ackedAt !== null && Number.isFinite(ackedAt) ? Math.max(0, Math.round(now - ackedAt)) : null,
    error: err === null ? null : { code: (err as { code?: string }).code ?? 'UNKNOWN', message: err.message },
  };
}
