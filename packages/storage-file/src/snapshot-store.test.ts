import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotMeta } from '@flotilla/types';
import { collectSnapshotData, snapshotDataOf } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { tempDirPerTest } from '../test/helpers.ts';
import { fileSnapshotStore } from './snapshot-store.ts';
import { CrashFileIO } from './testing/index.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});

function meta(i: number): SnapshotMeta {
  return {
    lastLogId: { term: 1, index: i },
    lastMembership: { logId: null, membership: { configs: [['a']], nodes: { a: { addr: 'a:1' } } } },
    snapshotId: `s-${i}`,
  };
}
function bytes(i: number, n = 200_000): Uint8Array {
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = (k * 13 + i) & 0xff;
  return b;
}

const EMPTY = snapshotDataOf(new Uint8Array());
/** Byte equality without vitest's slow element-wise diff of large typed arrays. */
async function expectBytes(data: AsyncIterable<Uint8Array> | undefined, want: Uint8Array): Promise<void> {
  const got = await collectSnapshotData(data ?? EMPTY);
  expect(Buffer.from(got).equals(want), `bytes differ (${got.byteLength} vs ${want.byteLength})`).toBe(true);
}

describe('fileSnapshotStore', () => {
  it('saves, keeps the newest N and streams them back intact', async () => {
    const s = await fileSnapshotStore(dir, { keep: 2, chunkBytes: 4096 });
    expect(await s.latest()).toBeNull();
    for (let i = 1; i <= 4; i++) await s.save(meta(i), snapshotDataOf(bytes(i), 10_000));
    expect((await s.list()).map((m) => m.snapshotId)).toEqual(['s-4', 's-3']);
    expect((await readdir(dir)).length).toBe(2);
    const latest = await s.latest();
    expect(latest?.meta).toEqual(meta(4));
    expect(latest?.bytes).toBe(200_000);
    await expectBytes(latest?.data, bytes(4));
    const older = await s.read('s-3');
    await expectBytes(older?.data, bytes(3));
    expect(await s.read('s-1')).toBeNull();
    // A re-opened store continues the sequence and sees the same snapshots.
    const t = await fileSnapshotStore(dir, { keep: 2 });
    await t.save(meta(5), bytes(5, 10));
    expect((await t.list()).map((m) => m.snapshotId)).toEqual(['s-5', 's-4']);
  });

  it('detects a corrupted data byte while streaming and a damaged header at open', async () => {
    const s = await fileSnapshotStore(dir);
    await s.save(meta(1), bytes(1));
    const [name] = await readdir(dir);
    const path = join(dir, name as string);
    const b = await readFile(path);
    b[b.byteLength - 100] = (b[b.byteLength - 100] ?? 0) ^ 1;
    await writeFile(path, b);
    const snap = await s.latest();
    await expect(collectSnapshotData(snap?.data ?? EMPTY)).rejects.toMatchObject({
      code: 'STORAGE',
      op: 'snapshot',
    });
    b[20] = (b[20] ?? 0) ^ 1; // inside the meta JSON
    await writeFile(path, b);
    await expect(s.latest()).rejects.toMatchObject({ code: 'STORAGE' });
  });

  it('a crash before the directory fsync never exposes a partial snapshot; leftovers are removed', async () => {
    const io = new CrashFileIO();
    const s = await fileSnapshotStore('/snaps', { io });
    await s.save(meta(1), bytes(1, 1000));
    const before = io.mutations;
    for (let n = 0; n < 12; n++) {
      const probe = io.crash('loseUnsynced');
      const s2 = await fileSnapshotStore('/snaps', { io: probe });
      probe.crashAfter = probe.mutations + n;
      await s2.save(meta(2), bytes(2, 1000)).catch(() => undefined);
      for (const v of ['loseUnsynced', 'loseRenames', 'tearLastWrite'] as const) {
        const after = await fileSnapshotStore('/snaps', { io: probe.crash(v) });
        const latest = await after.latest();
        const id = latest?.meta.snapshotId;
        expect(id === 's-1' || id === 's-2', `${n} ${v}: ${id}`).toBe(true);
        await expectBytes(latest?.data, bytes(id === 's-1' ? 1 : 2, 1000));
      }
    }
    expect(io.mutations).toBe(before);
  });

  it('spools a received snapshot to a temp file, reads it back intact, and deletes it on discard', async () => {
    const s = await fileSnapshotStore(dir, { chunkBytes: 4096 });
    const want = bytes(7);
    const sink = await s.beginReceiving();
    for (let at = 0; at < want.byteLength; at += 10_000) await sink.write(want.subarray(at, at + 10_000));
    // On disk while it arrives, not a stored snapshot.
    expect((await readdir(dir)).filter((n) => n.endsWith('.snap.tmp'))).toHaveLength(1);
    expect(await s.latest()).toBeNull();
    await expectBytes(await sink.finish(), want);
    await sink.discard();
    await sink.discard(); // idempotent
    expect(await readdir(dir)).toEqual([]);
    await expect(sink.write(want)).rejects.toMatchObject({ code: 'STORAGE', op: 'snapshot' });
  });

  it('a received snapshot damaged in its spool fails the read back; discarding before finish deletes it', async () => {
    const s = await fileSnapshotStore(dir);
    const sink = await s.beginReceiving();
    await sink.write(bytes(1, 5000));
    const [tmp] = (await readdir(dir)).filter((n) => n.endsWith('.snap.tmp'));
    const data = await sink.finish();
    const raw = await readFile(join(dir, tmp as string));
    raw[100] = (raw[100] ?? 0) ^ 0xff;
    await writeFile(join(dir, tmp as string), raw);
    await expect(collectSnapshotData(data)).rejects.toMatchObject({ code: 'STORAGE', op: 'snapshot' });
    await sink.discard();
    const other = await s.beginReceiving();
    await other.write(bytes(2, 100));
    await other.discard();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a receive cut short by a crash leaves a temp file that the next open removes', async () => {
    const s = await fileSnapshotStore(dir);
    const sink = await s.beginReceiving();
    await sink.write(bytes(3, 1000));
    expect((await readdir(dir)).some((n) => n.endsWith('.snap.tmp'))).toBe(true);
    // The process dies here: no finish, no discard.
    await fileSnapshotStore(dir);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a bad keep', async () => {
    await expect(fileSnapshotStore(dir, { keep: 0 })).rejects.toThrow(/keep/);
  });
});
