import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApplyEntry,
  collectSnapshotData,
  ErrorCode,
  hasErrorCode,
  snapshotDataOf,
} from '@flotilla/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWriteBody } from './http-api.ts';
import { type KvRequest, KvState, parseKvRequest } from './kv-state.ts';
import { decodeKvSnapshot, encodeKvSnapshot, openKvStateMachine } from './state-machine.ts';

/** The next log index; each test starts a state machine at index 0 (applies must be consecutive). */
let index = 0;
function entry(data: KvRequest): ApplyEntry<KvRequest> {
  index++;
  return { logId: { term: 1, index }, payload: { type: 'normal', data } };
}
function append(key: string, value: string, client_id?: string, sequence?: number): KvRequest {
  return {
    Append: { key, value },
    ...(client_id === undefined ? {} : { session: { client_id, sequence: sequence ?? 1 } }),
  };
}

let dir: string;
beforeEach(async () => {
  index = -1;
  dir = await mkdtemp(join(tmpdir(), 'kv-sessions-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Append', () => {
  it('appends to the value (absent counts as empty) and is not idempotent', () => {
    const s = new KvState();
    expect(s.apply({ Append: { key: 'k', value: 'a' } })).toEqual({ value: 'a', applied: true });
    expect(s.apply({ Append: { key: 'k', value: 'b' } })).toEqual({ value: 'ab', applied: true });
    expect(s.apply({ Append: { key: 'k', value: 'b' } })).toEqual({ value: 'abb', applied: true });
    expect(parseKvRequest({ Append: { key: 'k', value: 'x', extra: 1 } })).toEqual({
      Append: { key: 'k', value: 'x' },
    });
  });
});

describe('client sessions in the state machine', () => {
  it('a retried (client_id, sequence) is applied once and answers the first response', async () => {
    const sm = await openKvStateMachine(dir);
    const out = await sm.apply([
      entry(append('k', 'a', 'c1', 1)),
      entry(append('k', 'a', 'c1', 1)), // the retry, in the same batch
      entry(append('k', 'b', 'c2', 1)),
    ]);
    expect(out).toEqual([
      { value: 'a', applied: true },
      { value: 'a', applied: true },
      { value: 'ab', applied: true },
    ]);
    expect(await sm.apply([entry(append('k', 'a', 'c1', 1))])).toEqual([{ value: 'a', applied: true }]);
    expect(sm.state.get('k')).toBe('ab');
    // Writes without a session are applied every time.
    await sm.apply([entry(append('k', 'z')), entry(append('k', 'z'))]);
    expect(sm.state.get('k')).toBe('abzz');
    expect(sm.state.lastSequence('c1')).toBe(1);
  });

  it('refuses an unknown session above sequence 1 (SessionExpired) and an old sequence (StaleSequence)', async () => {
    const sm = await openKvStateMachine(dir);
    const out = await sm.apply([
      entry(append('k', 'x', 'new', 5)),
      entry(append('k', 'a', 'c1', 1)),
      entry(append('k', 'b', 'c1', 3)), // a gap is fine
      entry(append('k', 'c', 'c1', 2)), // below the last: its response is gone
    ]);
    expect(out).toEqual([
      { value: null, applied: false, sessionError: 'SessionExpired' },
      { value: 'a', applied: true },
      { value: 'ab', applied: true },
      { value: null, applied: false, sessionError: 'StaleSequence' },
    ]);
    expect(sm.state.get('k')).toBe('ab');
    expect(sm.state.lastSequence('new')).toBeUndefined();
  });

  it('an evicted session gets SessionExpired, never a second application', async () => {
    const sm = await openKvStateMachine(dir, { maxSessions: 2 });
    await sm.apply([
      entry(append('k', 'a', 'c1', 1)),
      entry(append('k', 'b', 'c1', 2)),
      entry(append('k', 'c', 'c2', 1)),
      entry(append('k', 'd', 'c3', 1)), // evicts c1, the least recently used
    ]);
    expect(sm.state.lastSequence('c1')).toBeUndefined();
    expect(await sm.apply([entry(append('k', 'b', 'c1', 2))])).toEqual([
      { value: null, applied: false, sessionError: 'SessionExpired' },
    ]);
    expect(sm.state.get('k')).toBe('abcd');
  });

  it('sessions travel in snapshots: reopened and installed state machines still deduplicate', async () => {
    const sm = await openKvStateMachine(join(dir, 'a'));
    await sm.apply([entry(append('k', 'a', 'c1', 7))]);
    expect(sm.state.lastSequence('c1')).toBeUndefined(); // refused: 7 opens nothing
    await sm.apply([entry(append('k', 'a', 'c1', 1)), entry(append('k', 'b', 'c1', 2))]);
    const snap = await sm.snapshotBuilder().buildSnapshot();
    const bytes = await collectSnapshotData(snap.data);
    expect(sm.state.sessions()).toEqual([['c1', 2, { value: 'ab', applied: true }]]);

    const reopened = await openKvStateMachine(join(dir, 'a'));
    expect(await reopened.apply([entry(append('k', 'b', 'c1', 2))])).toEqual([
      { value: 'ab', applied: true },
    ]);
    expect(reopened.state.get('k')).toBe('ab');

    const other = await openKvStateMachine(join(dir, 'b'));
    await other.installSnapshot(snap.meta, snapshotDataOf(bytes, 5));
    index = snap.meta.lastLogId?.index ?? -1; // the next entry follows the snapshot
    expect(await other.apply([entry(append('k', 'b', 'c1', 2))])).toEqual([{ value: 'ab', applied: true }]);
    expect(other.state.get('k')).toBe('ab');
  });

  it('refuses bad session rows in a snapshot state; good rows round-trip', () => {
    const bad = new TextEncoder().encode(
      JSON.stringify({ version: 3, entries: [], sessions: [['c', 'x', {}]] }),
    );
    expect(() => decodeKvSnapshot(bad)).toThrow(/session/);
    expect(
      decodeKvSnapshot(encodeKvSnapshot([], [['c', 1, { value: null, applied: true }]])).sessions,
    ).toEqual([['c', 1, { value: null, applied: true }]]);
  });
});

describe('parseWriteBody', () => {
  it('takes client_id and sequence beside the operation, both or neither', () => {
    expect(parseWriteBody({ Set: { key: 'k', value: 'v' } })).toEqual({ Set: { key: 'k', value: 'v' } });
    expect(parseWriteBody({ Append: { key: 'k', value: 'v' }, client_id: 'c', sequence: 3 })).toEqual({
      Append: { key: 'k', value: 'v' },
      session: { client_id: 'c', sequence: 3 },
    });
    const bad: [unknown, string][] = [
      [{ Set: { key: 'k', value: 'v' }, client_id: 'c' }, '$.sequence'],
      [{ Set: { key: 'k', value: 'v' }, sequence: 1 }, '$.client_id'],
      [{ Set: { key: 'k', value: 'v' }, client_id: '', sequence: 1 }, '$.client_id'],
      [{ Set: { key: 'k', value: 'v' }, client_id: 'c'.repeat(257), sequence: 1 }, '$.client_id'],
      [{ Set: { key: 'k', value: 'v' }, client_id: 'c', sequence: 0 }, '$.sequence'],
      [{ Set: { key: 'k', value: 'v' }, client_id: 'c', sequence: 1.5 }, '$.sequence'],
      [{ client_id: 'c', sequence: 1 }, '$'],
    ];
    for (const [body, path] of bad) {
      let caught: unknown;
      try {
        parseWriteBody(body);
      } catch (e) {
        caught = e;
      }
      expect(hasErrorCode(caught, ErrorCode.InvalidRequest), JSON.stringify(body)).toBe(true);
      expect((caught as { path: string }).path).toBe(path);
    }
  });
});
