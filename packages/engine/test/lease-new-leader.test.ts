import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/index.ts';
import { lid, newEngine, preElectionStartup, winTerm2 } from './fixtures.ts';

// Thesis §6.4: a lease is `quorumAckedSendTime + lease × (1 − drift)`. A new leader starts every
// follower's clock at its election for check-quorum's sake, but those are not acknowledgements: the
// voters that elected it hold an uncommitted vote and honour no lease for it yet. Until a quorum
// acknowledged an entry of its term (its blank entry committed), it has no lease.

/** Candidate b of term 2 over a, b, c that just won with a's vote; its blank 2-2 is flushed. */
function newLeader(): Engine {
  const e = newEngine('b', {}, preElectionStartup());
  winTerm2(e);
  return e;
}

describe('the lease of a new leader', () => {
  it('is none until a quorum acknowledged an entry of its term, then counts from the acked send time', () => {
    const e = newLeader();
    expect(e.serverState()).toBe('Leader');
    expect(e.leaseValidUntil()).toBeNull();
    e.tick(510);
    expect(e.leaseValidUntil()).toBeNull();
    e.onReplicationProgress(
      'a',
      { inflightId: 1, result: { type: 'matched', matching: lid(2, 2), sentAt: 505 } },
      515,
    );
    expect(e.committed()).toEqual(lid(2, 2));
    // a acked at 505, b itself at 510 (its last tick), c not at all (its election-time 501 counts).
    expect(e.leaseValidUntil()).toBe(505 + 100 * 0.9);
  });
});
