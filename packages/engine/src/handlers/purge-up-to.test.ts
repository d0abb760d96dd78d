import { ErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { committedFollowerStartup, lid, members, newEngine } from '../../test/fixtures.ts';

const m3 = members(['a', 'b', 'c']);
const follower = () =>
  newEngine('c', { maxInSnapshotLogToKeep: 1000, purgeBatchSize: 50 }, committedFollowerStartup());

describe('purgeUpTo', () => {
  it('purges exactly up to the index, bounded by the snapshot and the applied index, ignoring keep and batch size', () => {
    const e = follower();
    e.takeCommands();
    expect(e.purgeUpTo(3)).toBeNull(); // no snapshot yet
    e.onApplied(lid(1, 7));
    e.onSnapshotBuilt({
      lastLogId: lid(1, 7),
      lastMembership: { logId: lid(0, 0), membership: m3 },
      snapshotId: 's',
    });
    e.takeCommands();
    expect(e.purgeUpTo(4)).toEqual(lid(1, 4));
    expect(e.takeCommands()).toEqual([{ type: 'purgeLog', ioId: 1, upto: lid(1, 4) }]);
    expect(e.purgeUpTo(4)).toBeNull(); // already purged
    expect(e.purgeUpTo(100)).toEqual(lid(1, 7)); // bounded by the snapshot (= applied)
    expect(e.purged()).toEqual(lid(1, 7));
  });

  it('refuses a bad index with a typed error', () => {
    const e = follower();
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => e.purgeUpTo(bad)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidRequest }));
    }
  });
});
