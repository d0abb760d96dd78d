// fileStateMachine is durable: it restarts at its newest snapshot (the log replays the rest), a
// crash loses no snapshot that was acknowledged, a crash mid-save keeps the previous one, and a
// damaged or foreign snapshot refuses to start with a typed error.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { emptyStoredMembership, snapshotDataOf, uniformMembership } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { fileSnapshotStore, fileStateMachine } from '../src/index.ts';
import { CrashFileIO } from '../src/testing/index.ts';
import { tempDirPerTest } from './helpers.ts';
import { open, write } from './state-machine-fixtures.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});
const member = uniformMembership({ a: { addr: 'a:1' } });

describe('fileStateMachine durability', () => {
  it('restarts at its newest snapshot: state, applied log id and membership', async () => {
    const sm = await open(dir);
    await sm.apply([{ logId: { term: 1, index: 0 }, payload: { type: 'membership', membership: member } }]);
    await sm.apply([write(1, 'x', 1), write(2, 'y', 2)]);
    const snap = await sm.snapshotBuilder().buildSnapshot();
    await sm.apply([write(3, 'x', 3)]); // not covered: the log replays it after a restart
    const again = await open(dir);
    expect(await again.appliedState()).toEqual({
      lastApplied: { term: 1, index: 2 },
      lastMembership: { logId: { term: 1, index: 0 }, membership: member },
    });
    expect(again.state).toEqual(
      new Map([
        ['x', 1],
        ['y', 2],
      ]),
    );
    expect((await again.getCurrentSnapshot())?.meta).toEqual(snap.meta);
    expect(await again.apply([write(3, 'x', 3)])).toEqual([1]);
  });

  it('a built snapshot is durable once buildSnapshot resolves (crash loses unsynced data)', async () => {
    const io = new CrashFileIO();
    const sm = await open('/sm', io);
    await sm.apply([write(0, 'k', 1), write(1, 'k', 2)]);
    await sm.snapshotBuilder().buildSnapshot();
    await sm.apply([write(2, 'k', 3)]);
    const rebooted = await open('/sm', io.crash('loseUnsynced'));
    expect((await rebooted.appliedState()).lastApplied).toEqual({ term: 1, index: 1 });
    expect(rebooted.state.get('k')).toBe(2);
  });

  it('an installed snapshot is durable once installSnapshot resolves', async () => {
    const a = await open(join(dir, 'a'));
    await a.apply([write(0, 'k', 5)]);
    const snap = await a.snapshotBuilder().buildSnapshot();
    const io = new CrashFileIO();
    const b = await open('/b', io);
    await b.installSnapshot(snap.meta, snap.data);
    const rebooted = await open('/b', io.crash('loseUnsynced'));
    expect(await rebooted.appliedState()).toEqual(await a.appliedState());
    expect(rebooted.state.get('k')).toBe(5);
  });

  it('a crash in the middle of saving a snapshot keeps the previous one', async () => {
    for (let cut = 1; cut < 12; cut++) {
      const io = new CrashFileIO();
      const sm = await open('/sm', io);
      await sm.apply([write(0, 'k', 1)]);
      await sm.snapshotBuilder().buildSnapshot();
      await sm.apply([write(1, 'k', 2)]);
      io.crashAfter = io.mutations + cut;
      const second = await sm
        .snapshotBuilder()
        .buildSnapshot()
        .then(() => true)
        .catch((err: unknown) => {
          expect(err).toMatchObject({ code: 'STORAGE' });
          return false;
        });
      const rebooted = await open('/sm', io.crash('loseUnsynced'));
      const applied = (await rebooted.appliedState()).lastApplied?.index;
      if (second) expect(applied).toBe(1);
      else expect(applied === 0 || applied === 1, `cut ${cut}: applied ${applied}`).toBe(true);
      expect(rebooted.state.get('k')).toBe(applied === 1 ? 2 : 1);
    }
  });

  it('a snapshot captured before an install, or older than the kept one, is not kept', async () => {
    const src = await open(join(dir, 'src'));
    await src.apply([write(0, 'a', 1), write(1, 'b', 2), write(2, 'c', 3)]);
    const newer = await src.snapshotBuilder().buildSnapshot();
    const sm = await open(join(dir, 'sm'));
    await sm.apply([write(0, 'z', 9)]);
    const early = sm.snapshotBuilder();
    await sm.installSnapshot(newer.meta, newer.data);
    const built = await early.buildSnapshot();
    expect(built.meta.lastLogId).toEqual({ term: 1, index: 0 });
    expect((await sm.getCurrentSnapshot())?.meta).toEqual(newer.meta);
    expect((await open(join(dir, 'sm'))).state.get('z')).toBeUndefined();
  });

  it('refuses to start from a damaged or foreign snapshot, with a typed error', async () => {
    const sm = await open(dir);
    await sm.apply([write(0, 'k', 1)]);
    await sm.snapshotBuilder().buildSnapshot();
    const [name] = (await readdir(dir)).filter((n) => n.endsWith('.snap'));
    await writeFile(join(dir, name as string), 'garbage');
    await expect(open(dir)).rejects.toMatchObject({ code: 'STORAGE', op: 'snapshot' });

    const other = join(dir, 'foreign');
    const store = await fileSnapshotStore(other);
    const meta = {
      lastLogId: { term: 1, index: 0 },
      lastMembership: emptyStoredMembership(),
      snapshotId: 'x',
    };
    await store.save(meta, new TextEncoder().encode('{"not":"ours"}'));
    await expect(open(other)).rejects.toMatchObject({ code: 'STORAGE', op: 'snapshot' });
    // nor is such data installed
    const fresh = await open(join(dir, 'fresh'));
    await expect(
      fresh.installSnapshot(meta, snapshotDataOf(new Uint8Array([1, 2, 3]))),
    ).rejects.toMatchObject({
      code: 'STORAGE',
    });
    expect((await fresh.appliedState()).lastApplied).toBeNull();
  });

  it('refuses bad options with INVALID_CONFIG', async () => {
    const base = { dir, initial: 0, apply: (s: number) => [s, s] as const };
    await expect(fileStateMachine({ ...base, dir: '' })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'dir',
    });
    await expect(fileStateMachine({ ...base, maxSessions: 0 })).rejects.toMatchObject({
      field: 'maxSessions',
    });
    await expect(fileStateMachine({ ...base, keepSnapshots: 1.5 })).rejects.toMatchObject({
      field: 'keepSnapshots',
    });
    // @ts-expect-error apply is required
    await expect(fileStateMachine({ dir, initial: 0 })).rejects.toMatchObject({ field: 'apply' });
  });

  it('refuses an entry that is not the next one', async () => {
    const sm = await open(dir);
    await expect(sm.apply([write(1, 'k', 1)])).rejects.toMatchObject({ code: 'STORAGE_MISUSE' });
  });

  it('a state that fails to encode fails the build with a typed error and keeps nothing', async () => {
    const sm = await fileStateMachine<number, number, number>({
      dir,
      initial: 0,
      apply: (s, n) => [s + n, s + n],
      encode: () => {
        throw new Error('no');
      },
    });
    await sm.apply([{ logId: { term: 1, index: 0 }, payload: { type: 'normal', data: 1 } }]);
    await expect(sm.snapshotBuilder().buildSnapshot()).rejects.toMatchObject({
      code: 'STORAGE',
      op: 'snapshot',
    });
    expect(await sm.getCurrentSnapshot()).toBeNull();
  });

  it('the default encoding keeps Map, Set, Date, BigInt and shared references across a restart', async () => {
    type S = { m: Map<number, string>; s: Set<string>; d: Date; big: bigint; pair: [object, object] };
    const shared = { x: 1 };
    const initial: S = {
      m: new Map([[1, 'a']]),
      s: new Set(['z']),
      d: new Date(5),
      big: 2n ** 70n,
      pair: [shared, shared],
    };
    const sm = await fileStateMachine<S, number, null>({ dir, initial, apply: (st) => [st, null] });
    await sm.apply([{ logId: { term: 1, index: 0 }, payload: { type: 'normal', data: 1 } }]);
    await sm.snapshotBuilder().buildSnapshot();
    const again = await fileStateMachine<S, number, null>({
      dir,
      initial: { ...initial, m: new Map() },
      apply: (st) => [st, null],
    });
    expect(again.state.m).toEqual(new Map([[1, 'a']]));
    expect(again.state.s).toEqual(new Set(['z']));
    expect(again.state.d).toEqual(new Date(5));
    expect(again.state.big).toBe(2n ** 70n);
    expect(again.state.pair[0]).toBe(again.state.pair[1]);
  });
});
