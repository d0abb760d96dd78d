/**
 * Test helper (not built, not shipped): the metrics of a fresh follower, for unit tests that publish
 * hand-made `RaftMetrics` values. Owns nothing the runtime uses.
 */
import { emptyStoredMembership, type RaftMetrics } from '@flotilla/types';

/** A fresh follower's metrics: term 0, empty log, no leader, nothing applied. */
export function baseMetrics(): RaftMetrics {
  return {
    id: 'a',
    state: 'Follower',
    currentTerm: 0,
    vote: { term: 0, nodeId: null, committed: false },
    lastLogIndex: null,
    committed: null,
    lastApplied: null,
    snapshot: null,
    purged: null,
    currentLeader: null,
    membership: emptyStoredMembership(),
    committedMembership: emptyStoredMembership(),
    replication: null,
    lastQuorumAcked: null,
    millisSinceQuorumAck: null,
    error: null,
  };
}
