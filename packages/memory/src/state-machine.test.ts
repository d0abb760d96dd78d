import { blankEntry, ErrorCode, hasErrorCode, snapshotDataOf } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { memoryStateMachine } from './state-machine.ts';

const sum = () => memoryStateMachine<number, number, number>({ initial: 0, apply: (s, n) => [s + n, s + n] });

describe('memoryStateMachine', () => {
  it('applies normal entries with the pure function and answers each', async () => {
    const sm = sum();
    const rs = await sm.apply([
      { logId: { term: 1, index: 0 }, payload: { type: 'normal', data: 2 } },
      { logId: { term: 1, index: 1 }, payload: { type: 'blank' } },
      { logId: { term: 1, index: 2 }, payload: { type: 'normal', data: 5 } },
    ]);
    expect(rs).toEqual([2, undefined, 7]);
    expect(sm.state).toBe(7);
  });

  it('refuses an entry that is not the next one', async () => {
    const sm = sum();
    await sm.apply([{ logId: blankEntry(1, 0).logId, payload: { type: 'blank' } }]);
    let err: unknown;
    try {
      await sm.apply([{ logId: { term: 1, index: 2 }, payload: { type: 'blank' } }]);
    } catch (e) {
      err = e;
    }
    expect(hasErrorCode(err, ErrorCode.StorageMisuse)).toBe(true);
  });

  it('refuses an undecodable snapshot without changing anything', async () => {
    const sm = sum();
    await sm.apply([{ logId: { term: 1, index: 0 }, payload: { type: 'normal', data: 4 } }]);
    const meta = {
      lastLogId: { term: 1, index: 9 },
      lastMembership: { logId: null, membership: { configs: [], nodes: {} } },
      snapshotId: 'x',
    };
    let err: unknown;
    try {
      await sm.installSnapshot(meta, snapshotDataOf(new TextEncoder().encode('{not json')));
    } catch (e) {
      err = e;
    }
    expect(hasErrorCode(err, ErrorCode.Storage)).toBe(true);
    expect(sm.state).toBe(4);
    expect((await sm.appliedState()).lastApplied).toEqual({ term: 1, index: 0 });
  });

  it('keeps the newer snapshot as current when an older build finishes later', async () => {
    const sm = sum();
    await sm.apply([{ logId: { term: 1, index: 0 }, payload: { type: 'normal', data: 1 } }]);
    const old = sm.snapshotBuilder();
    await sm.apply([{ logId: { term: 1, index: 1 }, payload: { type: 'normal', data: 1 } }]);
    await sm.snapshotBuilder().buildSnapshot();
    await old.buildSnapshot();
    expect((await sm.getCurrentSnapshot())?.meta.lastLogId).toEqual({ term: 1, index: 1 });
    expect(sm.snapshotsBuilt).toBe(2);
  });

  it('reports a state that cannot be encoded as a StorageError', async () => {
    const sm = memoryStateMachine<bigint, number, number>({ initial: 1n, apply: (s) => [s, 0] });
    let err: unknown;
    try {
      await sm.snapshotBuilder().buildSnapshot();
    } catch (e) {
      err = e;
    }
    expect(hasErrorCode(err, ErrorCode.Storage)).toBe(true);
  });

  it('restarts from its durable snapshot, forgetting later applies', async () => {
    const sm = sum();
    expect(sm.durableSnapshot()).toBeNull();
    await sm.apply([{ logId: { term: 1, index: 0 }, payload: { type: 'normal', data: 3 } }]);
    await sm.snapshotBuilder().buildSnapshot();
    await sm.apply([{ logId: { term: 1, index: 1 }, payload: { type: 'normal', data: 4 } }]);
    const restarted = memoryStateMachine<number, number, number>({
      initial: 0,
      apply: (s, n) => [s + n, s + n],
      snapshot: sm.durableSnapshot()!,
    });
    expect(restarted.state).toBe(3);
    expect((await restarted.appliedState()).lastApplied).toEqual({ term: 1, index: 0 });
    expect((await restarted.getCurrentSnapshot())?.meta).toEqual((await sm.getCurrentSnapshot())?.meta);
    expect(
      await restarted.apply([{ logId: { term: 1, index: 1 }, payload: { type: 'normal', data: 4 } }]),
    ).toEqual([7]);
  });
});
