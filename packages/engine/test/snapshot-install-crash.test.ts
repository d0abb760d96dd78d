import type { LogId, SnapshotMeta } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import type { EngineStartup } from '../src/index.ts';
import { lid, members, newEngine } from './fixtures.ts';

// Raft §7 (log compaction): a follower that installs the leader's snapshot discards the log the
// snapshot covers. The purge removes committed entries that, from then on, only the snapshot holds:
// it must not become durable before the state machine holds the snapshot, or a crash in between
// leaves a node that can neither apply those entries nor recover them.

const m3 = members(['a', 'b', 'c']);
const leader3 = { term: 3, nodeId: 'b', committed: true };
const meta: SnapshotMeta = {
  lastLogId: lid(3, 12),
  lastMembership: { logId: lid(0, 0), membership: m3 },
  snapshotId: 'leader-snap',
};
/** Follower c's startup state: log 0-0, 2-9 .. 2-14 (2-13, 2-14 conflict with leader b's 3-12). */
const startup = (applied: LogId, snapshot: SnapshotMeta | null): EngineStartup => ({
  vote: leader3,
  purged: null,
  keyLogIds: [lid(0, 0), lid(2, 9), lid(2, 14)],
  committed: lid(0, 0),
  applied,
  snapshot,
  memberships: [{ logId: lid(0, 0), membership: m3 }],
});

describe('snapshot install and crashes', () => {
  it('hands the snapshot to the state machine before the purge that depends on it, and answers after both', () => {
    const e = newEngine('c', {}, startup(lid(0, 0), null));
    e.takeCommands();
    e.handleInstallSnapshot({ vote: leader3, meta }, 'r', 10);
    expect(e.takeCommands()).toEqual([
      // 2-13 and 2-14 conflict with the leader's log (it holds 3-12): truncated first.
      { type: 'truncateLog', ioId: 1, since: lid(2, 13) },
      { type: 'stateMachine', command: { type: 'installSnapshot', meta } },
      { type: 'purgeLog', ioId: 2, upto: lid(3, 12) },
      {
        type: 'respond',
        when: { type: 'ioFlushed', ioId: 2 },
        reply: 'r',
        response: { type: 'installSnapshot', response: { vote: leader3 } },
      },
    ]);
  });

  it('startup: a snapshot installed whose log writes were lost replaces the stale log (crash after the install)', () => {
    const e = newEngine('c', {}, startup(lid(3, 12), meta));
    expect(e.takeCommands()).toEqual([
      { type: 'truncateLog', ioId: 1, since: lid(2, 13) },
      { type: 'purgeLog', ioId: 2, upto: lid(3, 12) },
    ]);
    expect([e.purged(), e.lastLogId(), e.committed(), e.applied()]).toEqual([
      lid(3, 12),
      lid(3, 12),
      lid(3, 12),
      lid(3, 12),
    ]);
  });

  it('startup: a log purged beyond what the state machine and its snapshot hold is refused with a StorageError', () => {
    // The purge became durable but the install did not: entries 1..12 exist nowhere any more.
    const startup = {
      vote: leader3,
      purged: lid(3, 12),
      keyLogIds: [],
      committed: lid(3, 12),
      applied: lid(0, 0),
      snapshot: null,
      memberships: [],
    };
    expect(() => newEngine('c', {}, startup)).toThrowError(
      expect.objectContaining({ code: 'STORAGE', op: 'open' }),
    );
  });

  it('startup: a log purged up to the state machine (not its snapshot) is fine: nothing is missing', () => {
    const e = newEngine(
      'c',
      {},
      {
        vote: leader3,
        purged: lid(2, 9),
        keyLogIds: [lid(3, 10), lid(3, 12)],
        committed: lid(3, 12),
        applied: lid(2, 9),
        snapshot: null,
        memberships: [],
      },
    );
    expect(e.takeCommands()).toEqual([
      { type: 'saveCommittedAndApply', prevCommitted: lid(2, 9), committed: lid(3, 12) },
    ]);
  });
});
