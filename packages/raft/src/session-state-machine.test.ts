import {
  type ApplyEntry,
  collectSnapshotData,
  emptyStoredMembership,
  type LogId,
  type RaftStateMachine,
  type SnapshotMeta,
  snapshotDataOf,
} from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { withClientSessions } from './session-state-machine.ts';

/** A counter state machine: each normal entry adds its data; answers the new total. */
function counter(): RaftStateMachine<number, number> & { total: number; applied: LogId | null } {
  let current: { meta: SnapshotMeta; bytes: Uint8Array } | null = null;
  const sm = {
    total: 0,
    applied: null as LogId | null,
    async appliedState() {
      return { lastApplied: sm.applied, lastMembership: emptyStoredMembership() };
    },
    async apply(entries: readonly ApplyEntry<number>[]) {
      return entries.map((e) => {
        sm.applied = e.logId;
        if (e.payload.type !== 'normal') return undefined;
        sm.total += e.payload.data;
        return sm.total;
      });
    },
    snapshotBuilder() {
      const meta: SnapshotMeta = {
        lastLogId: sm.applied,
        lastMembership: emptyStoredMembership(),
        snapshotId: 's',
      };
      const bytes = new TextEncoder().encode(String(sm.total));
      return {
        buildSnapshot: async () => {
          current = { meta, bytes };
          return { meta, data: snapshotDataOf(bytes) };
        },
      };
    },
    async installSnapshot(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>) {
      const bytes = await collectSnapshotData(data);
      sm.total = Number(new TextDecoder().decode(bytes));
      sm.applied = meta.lastLogId;
      current = { meta, bytes };
    },
    async getCurrentSnapshot() {
      return current === null ? null : { meta: current.meta, data: snapshotDataOf(current.bytes) };
    },
  };
  return sm;
}

const w = (index: number, data: number, clientId?: string, sequence?: number): ApplyEntry<number> => ({
  logId: { term: 1, index },
  payload:
    clientId === undefined || sequence === undefined
      ? { type: 'normal', data }
      : { type: 'normal', data, session: { clientId, sequence } },
});

describe('withClientSessions', () => {
  it('applies a duplicate (even within one batch) as a blank entry and answers the first response', async () => {
    const inner = counter();
    const sm = withClientSessions(inner);
    const out = await sm.apply([w(1, 5, 'c', 1), w(2, 5, 'c', 1), w(3, 7), w(4, 1, 'c', 2), w(5, 9, 'c', 1)]);
    expect(out).toEqual([5, 5, 12, 13, undefined]);
    expect(inner.total).toBe(13);
    expect(inner.applied).toEqual({ term: 1, index: 5 });
  });

  it('carries the sessions in the snapshot, however the data is re-chunked in transit', async () => {
    const a = withClientSessions(counter());
    await a.apply([w(1, 5, 'c', 1)]);
    const snap = await a.snapshotBuilder().buildSnapshot();
    const bytes = await collectSnapshotData(snap.data);
    const inner = counter();
    const b = withClientSessions(inner);
    await b.installSnapshot(snap.meta, snapshotDataOf(bytes, 3));
    expect(inner.total).toBe(5);
    expect(await b.apply([w(2, 5, 'c', 1)])).toEqual([5]);
    expect(inner.total).toBe(5);
    const again = await b.getCurrentSnapshot();
    expect(again === null ? null : await collectSnapshotData(again.data)).toEqual(bytes);
  });

  it('refuses snapshot data without a sessions block, leaving the inner state machine untouched', async () => {
    const inner = counter();
    const sm = withClientSessions(inner);
    const meta: SnapshotMeta = {
      lastLogId: { term: 1, index: 3 },
      lastMembership: emptyStoredMembership(),
      snapshotId: 'x',
    };
    await expect(
      sm.installSnapshot(meta, snapshotDataOf(new TextEncoder().encode('12345678'))),
    ).rejects.toMatchObject({
      code: 'STORAGE',
    });
    expect(inner.applied).toBeNull();
  });
});
