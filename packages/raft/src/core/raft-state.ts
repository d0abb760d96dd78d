/**
 * The Raft state handed to `withRaftState` and `externalRequest`: a frozen deep copy read off the
 * engine.
 *
 * Owns: the mapping from engine state to `RaftStateView`. Must never: hand out a reference to the
 * engine's own objects (a caller could change the node's state through it) or change any state.
 */
import type { Engine } from '@flotilla/engine';
import type { NodeId } from '@flotilla/types';
import type { RaftStateView } from '../api.ts';

/** A frozen deep copy of `engine`'s state now (call inside the loop). */
export function raftStateOf(id: NodeId, engine: Engine): RaftStateView {
  const membership = engine.membership();
  const view: RaftStateView = {
    id,
    serverState: engine.serverState(),
    vote: engine.vote(),
    currentLeader: engine.currentLeader(),
    lastLogId: engine.lastLogId(),
    committed: engine.committed(),
    applied: engine.applied(),
    purged: engine.purged(),
    snapshot: engine.snapshot()?.lastLogId ?? null,
    membership: { effective: membership.effective, committed: membership.committed },
    progress: engine.replicationMetrics(),
  };
  // The engine's objects are copied whole (plain data), then every level is frozen.
  return deepFreeze(structuredClone(view));
}

/** Freezes `value` and everything it holds (plain data: objects and arrays). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
