import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApplyEntry,
  collectSnapshotData,
  ErrorCode,
  hasErrorCode,
  type Membership,
  snapshotDataOf,
} from '@flotilla/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KvRequest } from './kv-state.ts';
import { decodeKvSnapshot, encodeKvSnapshot, openKvStateMachine } from './state-machine.ts';

const membership: Membership = { configs: [['1']], nodes: { '1': { addr: '127.0.0.1:1' } } };

function set(index: number, key: string, value: string): ApplyEntry<KvRequest> {
  return { logId: { term: 1, index }, payload: { type: 'normal', data: { Set: { key, value } } } };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kv-sm-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('KvStateMachine', () => {
  it('applies entries in order and tracks last applied and membership', async () => {
    const sm = await openKvStateMachine(dir);
    const out = await sm.apply([
      { logId: { term: 1, index: 0 }, payload: { type: 'membership', membership } },
      { logId: { term: 1, index: 1 }, payload: { type: 'blank' } },
      set(2, 'a', '1'),
      { logId: { term: 1, index: 3 }, payload: { type: 'normal', data: { Delete: { key: 'a' } } } },
    ]);
    expect(out).toEqual([undefined, undefined, { value: '1', applied: true }, { value: '1', applied: true }]);
    expect(await sm.appliedState()).toEqual({
      lastApplied: { term: 1, index: 3 },
      lastMembership: { logId: { term: 1, index: 0 }, membership },
    });
  });

  it('a snapshot captures the state when the builder is made, survives a reopen, and is current', async () => {
    const sm = await openKvStateMachine(dir);
    await sm.apply([
      { logId: { term: 1, index: 0 }, payload: { type: 'membership', membership } },
      set(1, 'a', '1'),
    ]);
    const builder = sm.snapshotBuilder();
    await sm.apply([set(2, 'b', '2')]); // after the capture: not in the snapshot
    const snap = await builder.buildSnapshot();
    expect(snap.meta.lastLogId).toEqual({ term: 1, index: 1 });
    const current = await sm.getCurrentSnapshot();
    expect(current?.meta).toEqual(snap.meta);

    const reopened = await openKvStateMachine(dir);
    expect(reopened.state.get('a')).toBe('1');
    expect(reopened.state.get('b')).toBeUndefined();
    expect(await reopened.appliedState()).toEqual({
      lastApplied: { term: 1, index: 1 },
      lastMembership: { logId: { term: 1, index: 0 }, membership },
    });
  });

  it('installs a received snapshot atomically: bad data leaves the state unchanged', async () => {
    const sm = await openKvStateMachine(dir);
    await sm.apply([set(0, 'old', 'x')]);
    const meta = {
      lastLogId: { term: 2, index: 9 },
      lastMembership: { logId: { term: 2, index: 5 }, membership },
      snapshotId: 'remote-1',
    };
    await expect(
      sm.installSnapshot(meta, snapshotDataOf(new TextEncoder().encode('{"version":1}'))),
    ).rejects.toSatisfy((e: unknown) => hasErrorCode(e, ErrorCode.Storage));
    expect(sm.state.get('old')).toBe('x');
    expect((await sm.appliedState()).lastApplied).toEqual({ term: 1, index: 0 });

    const source = await openKvStateMachine(join(dir, 'source'));
    await source.apply([set(0, 'new', 'y')]);
    const data = await collectSnapshotData((await source.snapshotBuilder().buildSnapshot()).data);
    await sm.installSnapshot(meta, snapshotDataOf(data, 3));
    expect(sm.state.get('old')).toBeUndefined();
    expect(sm.state.get('new')).toBe('y');
    expect((await sm.appliedState()).lastApplied).toEqual({ term: 2, index: 9 });
    expect((await sm.getCurrentSnapshot())?.meta.snapshotId).toBe('remote-1');
    expect((await openKvStateMachine(dir)).state.get('new')).toBe('y');
  });

  it('refuses to open over a damaged snapshot file', async () => {
    const sm = await openKvStateMachine(dir);
    await sm.apply([set(0, 'a', '1')]);
    await sm.snapshotBuilder().buildSnapshot();
    await writeFile(join(dir, 'snap-000000000001.snap'), 'garbage');
    await expect(openKvStateMachine(dir)).rejects.toSatisfy((e: unknown) =>
      hasErrorCode(e, ErrorCode.Storage),
    );
  });

  it('decodeKvSnapshot refuses what encodeKvSnapshot cannot have written', () => {
    const enc = new TextEncoder();
    for (const bad of [
      '',
      'null',
      '{"version":3,"entries":[]}',
      '{"version":2,"entries":[],"sessions":[]}',
      '{"version":3,"entries":[["a"]],"sessions":[]}',
      '{"version":3,"entries":[[1,"b"]],"sessions":[]}',
    ]) {
      expect(() => decodeKvSnapshot(enc.encode(bad))).toThrow(/snapshot/);
    }
    expect(() => decodeKvSnapshot(Uint8Array.of(0xff, 0xfe))).toThrow(/UTF-8/);
    expect(decodeKvSnapshot(encodeKvSnapshot([]))).toEqual({ entries: [], sessions: [] });
  });
});
