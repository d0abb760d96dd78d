// fileStateMachine carries client sessions as the runtime expects (withClientSessions' rules): a
// retried write is applied once and answers its first response, also after a snapshot install and
// after a restart from the snapshot directory.
import { collectSnapshotData, snapshotDataOf } from '@flotilla/types';
import { beforeEach, describe, expect, it } from 'vitest';
import { tempDirPerTest } from './helpers.ts';
import { executed, open, write } from './state-machine-fixtures.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});
beforeEach(() => {
  executed.length = 0;
});

describe('fileStateMachine client sessions', () => {
  it('applies a retried write once and answers the first response; an older one gets undefined', async () => {
    const sm = await open(dir);
    const c = (sequence: number) => ({ clientId: 'c1', sequence });
    expect(await sm.apply([write(0, 'x', 1, c(1)), write(1, 'x', 2, c(2))])).toEqual([null, 1]);
    // the retry of sequence 2 (its first answer was lost) and a stale retry of sequence 1
    expect(await sm.apply([write(2, 'x', 99, c(2)), write(3, 'x', 98, c(1))])).toEqual([1, undefined]);
    expect(sm.state.get('x')).toBe(2);
    expect(executed.map((l) => l.index)).toEqual([0, 1]);
    // still applied in the log's sense: the applied index moves on
    expect((await sm.appliedState()).lastApplied).toEqual({ term: 1, index: 3 });
    // a new sequence applies; another client is independent; a write without a session always applies
    expect(
      await sm.apply([
        write(4, 'x', 3, c(3)),
        write(5, 'x', 4, { clientId: 'c2', sequence: 1 }),
        write(6, 'x', 5),
      ]),
    ).toEqual([2, 3, 4]);
    expect(sm.lastSequence('c1')).toBe(3);
    expect(sm.lastSequence('c2')).toBe(1);
  });

  it('a duplicate inside one batch sees the earlier entry of the batch', async () => {
    const sm = await open(dir);
    const s = { clientId: 'c', sequence: 5 };
    expect(await sm.apply([write(0, 'k', 1, s), write(1, 'k', 2, s)])).toEqual([null, null]);
    expect(sm.state.get('k')).toBe(1);
  });

  it('remembers at most maxSessions, forgetting the least recently applied', async () => {
    const sm = await open(dir, undefined, { maxSessions: 2 });
    await sm.apply([
      write(0, 'k', 1, { clientId: 'a', sequence: 1 }),
      write(1, 'k', 2, { clientId: 'b', sequence: 1 }),
      write(2, 'k', 3, { clientId: 'a', sequence: 2 }), // a is now the most recent
      write(3, 'k', 4, { clientId: 'c', sequence: 1 }), // b is forgotten
    ]);
    expect([sm.lastSequence('a'), sm.lastSequence('b'), sm.lastSequence('c')]).toEqual([2, undefined, 1]);
  });

  it('sessions travel in snapshots: an installed snapshot answers retries without applying them', async () => {
    const a = await open(`${dir}/a`);
    await a.apply([
      write(0, 'x', 1, { clientId: 'c', sequence: 1 }),
      write(1, 'y', 7, { clientId: 'd', sequence: 4 }),
    ]);
    const snap = await a.snapshotBuilder().buildSnapshot();
    const b = await open(`${dir}/b`);
    await b.installSnapshot(snap.meta, snapshotDataOf(await collectSnapshotData(snap.data), 3));
    executed.length = 0;
    expect(await b.apply([write(2, 'y', 8, { clientId: 'd', sequence: 4 })])).toEqual([null]);
    expect(executed).toEqual([]);
    expect(b.state.get('y')).toBe(7);
  });

  it('sessions survive a restart from the snapshot directory', async () => {
    const sm = await open(dir);
    await sm.apply([
      write(0, 'x', 1, { clientId: 'c', sequence: 1 }),
      write(1, 'x', 2, { clientId: 'c', sequence: 2 }),
    ]);
    await sm.snapshotBuilder().buildSnapshot();
    const again = await open(dir);
    expect(again.lastSequence('c')).toBe(2);
    executed.length = 0;
    // the runtime re-applies the log after the snapshot; a retry of sequence 2 is still a duplicate
    expect(await again.apply([write(2, 'x', 9, { clientId: 'c', sequence: 2 })])).toEqual([1]);
    expect(executed).toEqual([]);
  });
});
