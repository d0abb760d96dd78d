import { readdir } from 'node:fs/promises';
import type { Entry } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { appendDurable, entries, entry, tempDirPerTest } from '../test/helpers.ts';
import { nodeFileIO } from './file-io.ts';
import { encodeMeta, META_FILE, META_TMP_FILE, writeAtomic } from './meta.ts';
import { fileLogStore } from './open-store.ts';
import { parseSegmentName } from './segment.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});

describe('fileLogStore on the real file system', () => {
  it('appends, reads back from cache and disk, and survives a reopen', async () => {
    const s = await fileLogStore(dir, { segmentBytes: 256, cacheEntries: 4 });
    await appendDurable(s, entries(1, 0, 50));
    const r = s.reader();
    expect(await r.tryGetLogEntries(0, 50)).toEqual(entries(1, 0, 50));
    expect(await r.tryGetLogEntries(10, 12)).toEqual(entries(1, 10, 12));
    expect(s.stats().segments).toBeGreaterThan(3);
    expect(s.stats().cachedEntries).toBeLessThanOrEqual(4);
    await s.close();
    const t = await fileLogStore(dir, { segmentBytes: 256 });
    expect(t.recovery.tornTail).toBeNull();
    expect(await t.getLogState()).toEqual({ lastPurgedLogId: null, lastLogId: { term: 1, index: 49 } });
    const got = await t.reader().tryGetLogEntries(0, 100);
    expect(got).toEqual(entries(1, 0, 50));
    const first = got[0] as Entry;
    expect(first.payload.type === 'normal' && first.payload.data.constructor).toBe(Uint8Array);
    await t.close();
  });

  it('keeps all payload kinds intact', async () => {
    const s = await fileLogStore(dir);
    const es: Entry[] = [
      { logId: { term: 1, index: 0 }, payload: { type: 'blank' } },
      {
        logId: { term: 1, index: 1 },
        payload: {
          type: 'membership',
          membership: {
            configs: [['a', 'b']],
            nodes: { a: { addr: 'x:1' }, b: { addr: 'y:2', data: { z: 1 } } },
          },
        },
      },
      entry(2, 2, 1000),
    ];
    await appendDurable(s, es);
    await s.close();
    const t = await fileLogStore(dir);
    expect(await t.reader().tryGetLogEntries(0, 3)).toEqual(es);
    await t.close();
  });

  it('truncates and purges by segment, persisting the purged id and the vote', async () => {
    const s = await fileLogStore(dir, { segmentBytes: 200, cacheEntries: 0 });
    await appendDurable(s, entries(1, 0, 30));
    await s.truncate({ term: 1, index: 20 });
    await appendDurable(s, entries(2, 20, 25));
    await s.purge({ term: 1, index: 9 });
    await s.saveVote({ term: 2, nodeId: 'n1', committed: true });
    await s.saveCommitted({ term: 2, index: 22 });
    const want = [...entries(1, 10, 20), ...entries(2, 20, 25)];
    expect(await s.reader().tryGetLogEntries(0, 100)).toEqual(want);
    await s.close();
    const t = await fileLogStore(dir, { segmentBytes: 200 });
    expect(await t.getLogState()).toEqual({
      lastPurgedLogId: { term: 1, index: 9 },
      lastLogId: { term: 2, index: 24 },
    });
    expect(await t.readVote()).toEqual({ term: 2, nodeId: 'n1', committed: true });
    expect(await t.readCommitted()).toEqual({ term: 2, index: 22 });
    expect(await t.reader().tryGetLogEntries(0, 100)).toEqual(want);
    expect(await t.reader().getKeyLogIds({ term: 1, index: 10 }, { term: 2, index: 24 })).toEqual([
      { term: 1, index: 19 },
      { term: 2, index: 24 },
    ]);
    await t.close();
  });

  it('batches concurrent appends into few syncs and fires callbacks in order', async () => {
    const s = await fileLogStore(dir);
    const order: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      all.push(
        new Promise<void>((resolve, reject) => {
          s.append([entry(1, i)], (err) => {
            if (err) reject(err);
            order.push(i);
            resolve();
          }).catch(reject);
        }),
      );
    }
    await Promise.all(all);
    expect(order).toEqual([...Array(200).keys()]);
    expect(s.stats().logSyncs).toBeLessThan(20);
    await s.close();
  });

  it('refuses misuse with typed errors', async () => {
    const s = await fileLogStore(dir);
    await appendDurable(s, entries(1, 0, 5));
    await expect(s.append([entry(1, 7)], () => {})).rejects.toMatchObject({
      code: 'STORAGE_MISUSE',
      reason: 'Hole',
    });
    await expect(s.truncate({ term: 1, index: 9 })).rejects.toMatchObject({ reason: 'TruncateBeyondEnd' });
    await expect(s.append([entry(1, 3)], () => {})).rejects.toMatchObject({ reason: 'NotConsecutive' });
    await s.close();
    await expect(s.readVote()).rejects.toMatchObject({ reason: 'Closed' });
  });

  it('locks the directory against a second open', async () => {
    const s = await fileLogStore(dir);
    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await s.close();
    const t = await fileLogStore(dir);
    await t.close();
  });

  it('purges beyond the end: deletes every segment, then starts a new one at upto.index + 1', async () => {
    const segs = async () =>
      (await readdir(dir)).map(parseSegmentName).filter((x): x is number => x !== null);
    const s = await fileLogStore(dir, { segmentBytes: 128 });
    await appendDurable(s, entries(1, 0, 20));
    expect((await segs()).length).toBeGreaterThan(2);
    await s.purge({ term: 2, index: 30 });
    await s.sync();
    expect(await segs()).toEqual([]);
    expect(s.stats()).toMatchObject({ segments: 0, entries: 0 });
    await appendDurable(s, entries(2, 31, 33));
    expect(await segs()).toEqual([31]);
    await s.close();
    const t = await fileLogStore(dir, { segmentBytes: 128 });
    expect(await t.getLogState()).toEqual({
      lastPurgedLogId: { term: 2, index: 30 },
      lastLogId: { term: 2, index: 32 },
    });
    expect(await t.reader().tryGetLogEntries(0, 100)).toEqual(entries(2, 31, 33));
    await t.close();
  });

  it('recovers when a purge beyond the end was recorded but its segments were not deleted', async () => {
    const s = await fileLogStore(dir, { segmentBytes: 128 });
    await appendDurable(s, entries(1, 0, 20));
    await s.saveVote({ term: 2, nodeId: 'n1', committed: false });
    await s.close();
    // A crash right after the meta write of purge({2, 40}): every old segment is still there.
    const meta = { vote: { term: 2, nodeId: 'n1', committed: false }, committed: null };
    await writeAtomic(
      nodeFileIO,
      dir,
      META_FILE,
      META_TMP_FILE,
      encodeMeta({ ...meta, lastPurged: { term: 2, index: 40 } }),
    );
    const t = await fileLogStore(dir, { segmentBytes: 128 });
    expect(t.recovery.removedFiles.length).toBeGreaterThan(2);
    expect(await t.getLogState()).toEqual({
      lastPurgedLogId: { term: 2, index: 40 },
      lastLogId: { term: 2, index: 40 },
    });
    await expect(t.append([entry(2, 40)], () => {})).rejects.toMatchObject({ reason: 'NotConsecutive' });
    await appendDurable(t, [entry(2, 41)]);
    await t.close();
    const u = await fileLogStore(dir, { segmentBytes: 128 });
    expect(u.recovery.removedFiles).toEqual([]);
    expect(await u.reader().tryGetLogEntries(0, 100)).toEqual([entry(2, 41)]);
    expect(await u.readVote()).toEqual(meta.vote);
    await u.close();
  });
});
