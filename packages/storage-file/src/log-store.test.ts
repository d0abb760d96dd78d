import type { Entry } from '@flotilla/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendDurable, entries, entry, tempDir } from '../test/helpers.ts';
import { fileLogStore } from './log-store.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
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
    await expect(s.purge({ term: 1, index: 5 })).rejects.toMatchObject({ reason: 'PurgeBeyondEnd' });
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
});
