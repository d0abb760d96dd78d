import { describe, expect, it } from 'vitest';
import { lid, members, newEngine } from './fixtures.ts';

// Raft §5.3 / Figure 2: a state machine applies committed entries only, so whatever it reports applied
// at startup is committed, even when the log store does not keep the committed id (`saveCommitted`
// is optional).

describe('startup: the committed id', () => {
  it('is at least what the state machine applied when the store kept no committed id', () => {
    const m3 = { logId: lid(0, 0), membership: members(['a', 'b', 'c']) };
    const m4 = { logId: lid(1, 3), membership: members(['a', 'b', 'c', 'd']) };
    const e = newEngine(
      'c',
      {},
      {
        vote: { term: 1, nodeId: 'a', committed: true },
        purged: null,
        keyLogIds: [lid(0, 0), lid(1, 1), lid(1, 6)],
        committed: null,
        applied: lid(1, 4),
        snapshot: null,
        memberships: [m3, m4],
      },
    );
    expect(e.takeCommands()).toEqual([]);
    expect(e.committed()).toEqual(lid(1, 4));
    expect(e.applied()).toEqual(lid(1, 4));
    // The applied membership entry 1-3 is committed: no change is in progress.
    expect(e.membership()).toEqual({ committed: m4, effective: m4 });
    expect(e.membershipChangeInProgress()).toBe(false);
    e.checkInvariants();
  });

  it('keeps a saved committed id beyond the applied one, and applies the gap', () => {
    const e = newEngine(
      'c',
      {},
      {
        vote: { term: 1, nodeId: 'a', committed: true },
        purged: null,
        keyLogIds: [lid(0, 0), lid(1, 1), lid(1, 6)],
        committed: lid(1, 5),
        applied: lid(1, 4),
        snapshot: null,
        memberships: [{ logId: lid(0, 0), membership: members(['a', 'b', 'c']) }],
      },
    );
    expect(e.takeCommands()).toEqual([
      { type: 'saveCommittedAndApply', prevCommitted: lid(1, 4), committed: lid(1, 5) },
    ]);
    expect(e.committed()).toEqual(lid(1, 5));
    e.checkInvariants();
  });
});
