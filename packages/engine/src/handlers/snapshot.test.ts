import type { SnapshotMeta } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { committedFollowerStartup, lid, members, newEngine } from '../../test/fixtures.ts';

const m3 = members(['a', 'b', 'c']);
const leader2 = { term: 2, nodeId: 'a', committed: true };
const follower = (config = {}) => newEngine('c', config, committedFollowerStartup());
const meta = (last: ReturnType<typeof lid>, id = 's1'): SnapshotMeta => ({
  lastLogId: last,
  lastMembership: { logId: lid(0, 0), membership: m3 },
  snapshotId: id,
});

describe('snapshot handler', () => {
  it('applies committed entries at startup, builds a snapshot by policy and purges behind it in batches', () => {
    const e = follower({ snapshotPolicy: { sinceLast: 5 }, maxInSnapshotLogToKeep: 2, purgeBatchSize: 3 });
    expect(e.takeCommands()).toEqual([
      { type: 'saveCommittedAndApply', prevCommitted: lid(0, 0), committed: lid(2, 9) },
    ]);
    e.onApplied(lid(1, 3)); // 4 entries (0..3) since no snapshot: below the policy's 5
    expect(e.takeCommands()).toEqual([]);
    e.onApplied(lid(2, 9));
    expect(e.takeCommands()).toEqual([{ type: 'stateMachine', command: { type: 'buildSnapshot' } }]);
    e.onSnapshotBuilt(meta(lid(2, 9)));
    // Keep 2 entries below 2-9: purge up to index 7 (a batch of 8 >= 3).
    expect(e.takeCommands()).toEqual([{ type: 'purgeLog', ioId: 1, upto: lid(1, 7) }]);
    expect(e.purged()).toEqual(lid(1, 7));
  });

  it('installs a snapshot that the log does not hold: truncates what follows it, purges the rest, answers when durable', () => {
    const e = follower();
    e.takeCommands();
    const m = meta(lid(3, 12), 'leader-snap');
    const leader3 = { term: 3, nodeId: 'b', committed: true };
    e.handleInstallSnapshot({ vote: leader3, meta: m }, 'r', 10);
    expect(e.takeCommands()).toEqual([
      { type: 'saveVote', ioId: 1, vote: leader3 },
      { type: 'stateMachine', command: { type: 'installSnapshot', meta: m } },
      { type: 'purgeLog', ioId: 2, upto: lid(3, 12) },
      {
        type: 'respond',
        when: { type: 'ioFlushed', ioId: 2 },
        reply: 'r',
        response: { type: 'installSnapshot', response: { vote: leader3 } },
      },
    ]);
    expect([e.purged(), e.lastLogId(), e.committed(), e.applied()]).toEqual([
      lid(3, 12),
      lid(3, 12),
      lid(3, 12),
      lid(3, 12),
    ]);
  });

  it('a snapshot inside the log keeps the entries after it; one it already has committed is a no-op', () => {
    const e = follower();
    e.takeCommands();
    e.handleInstallSnapshot({ vote: leader2, meta: meta(lid(2, 5)) }, 'r', 10);
    expect(e.takeCommands()).toEqual([
      {
        type: 'respond',
        when: null,
        reply: 'r',
        response: { type: 'installSnapshot', response: { vote: leader2 } },
      },
    ]);
    expect(e.lastLogId()).toEqual(lid(2, 9));
  });

  it('rejects a snapshot from a stale leader with its vote', () => {
    const e = follower();
    e.takeCommands();
    e.handleInstallSnapshot(
      { vote: { term: 1, nodeId: 'b', committed: true }, meta: meta(lid(1, 1)) },
      'r',
      10,
    );
    expect(e.takeCommands()).toEqual([
      {
        type: 'respond',
        when: null,
        reply: 'r',
        response: { type: 'installSnapshot', response: { vote: leader2 } },
      },
    ]);
  });
});
