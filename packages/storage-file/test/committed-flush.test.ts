import { basename } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type FileIO, nodeFileIO } from '../src/file-io.ts';
import { fileLogStore } from '../src/index.ts';
import { META_FILE } from '../src/meta.ts';
import { GatedIO } from './gated-io.ts';
import { appendDurable, entries, tempDirPerTest } from './helpers.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});

/** Wraps `inner` to record segment syncs and meta-file replaces, in the order they complete. */
function recording(inner: FileIO): { io: FileIO; ops: string[] } {
  const ops: string[] = [];
  const io: FileIO = {
    ...inner,
    open: async (path, mode) => {
      const h = await inner.open(path, mode);
      return {
        ...h,
        read: (b, o, l, p) => h.read(b, o, l, p),
        write: (b, p) => h.write(b, p),
        writev: (b, p) => h.writev(b, p),
        truncate: (l) => h.truncate(l),
        size: () => h.size(),
        close: () => h.close(),
        datasync: async () => {
          await h.datasync();
          ops.push(`sync ${basename(path)}`);
        },
      };
    },
    rename: async (from, to) => {
      await inner.rename(from, to);
      ops.push(`replace ${basename(to)}`);
    },
    fsyncDir: (d) => inner.fsyncDir(d),
    processAlive: (pid) => inner.processAlive(pid),
    readdir: (d) => inner.readdir(d),
    mkdir: (d) => inner.mkdir(d),
    unlink: (p) => inner.unlink(p),
  };
  return { io, ops };
}

describe('committedFlushMs: the committed id saved in the background', () => {
  it('resolves without writing, coalesces saves, and sync writes the latest once', async () => {
    const s = await fileLogStore(dir, { committedFlushMs: 60_000 });
    await appendDurable(s, entries(1, 0, 6));
    const before = s.stats().metaWrites;
    for (let i = 0; i < 6; i++) await s.saveCommitted({ term: 1, index: i });
    expect(s.stats().metaWrites).toBe(before);
    expect(await s.readCommitted()).toEqual({ term: 1, index: 5 });
    await s.sync();
    expect(s.stats().metaWrites).toBe(before + 1);
    await s.sync();
    expect(s.stats().metaWrites).toBe(before + 1);
    await s.close();
    const t = await fileLogStore(dir);
    expect(await t.readCommitted()).toEqual({ term: 1, index: 5 });
    await t.close();
  });

  it('writes a pending id on its own once the interval passes', async () => {
    const s = await fileLogStore(dir, { committedFlushMs: 0 });
    await appendDurable(s, entries(1, 0, 3));
    const before = s.stats().metaWrites;
    await s.saveCommitted({ term: 1, index: 2 });
    await vi.waitFor(() => expect(s.stats().metaWrites).toBe(before + 1), { timeout: 10_000 });
    await s.close();
    expect(s.stats().metaWrites).toBe(before + 1);
    const t = await fileLogStore(dir);
    expect(await t.readCommitted()).toEqual({ term: 1, index: 2 });
    await t.close();
  });

  it('close writes a pending id', async () => {
    const s = await fileLogStore(dir, { committedFlushMs: 60_000 });
    await appendDurable(s, entries(1, 0, 3));
    await s.saveCommitted({ term: 1, index: 1 });
    await s.close();
    const t = await fileLogStore(dir);
    expect(await t.readCommitted()).toEqual({ term: 1, index: 1 });
    await t.close();
  });

  it('a vote save carries the pending id: no second meta write', async () => {
    const s = await fileLogStore(dir, { committedFlushMs: 60_000 });
    await appendDurable(s, entries(1, 0, 3));
    const before = s.stats().metaWrites;
    await s.saveCommitted({ term: 1, index: 2 });
    await s.saveVote({ term: 2, nodeId: 'a', committed: false });
    await s.sync();
    expect(s.stats().metaWrites).toBe(before + 1);
    await s.close();
    const t = await fileLogStore(dir);
    expect(await t.readCommitted()).toEqual({ term: 1, index: 2 });
    expect(await t.readVote()).toEqual({ term: 2, nodeId: 'a', committed: false });
    await t.close();
  });

  it('is written after the appends issued before the save, never ahead of the durable log', async () => {
    const rec = recording(nodeFileIO);
    const gate = new GatedIO(rec.io);
    const s = await fileLogStore(dir, { committedFlushMs: 0, io: gate.io });
    await appendDurable(s, entries(1, 0, 2));
    rec.ops.length = 0;
    gate.hold();
    let flushed = false;
    await s.append(entries(1, 2, 4), (err) => {
      flushed = err === undefined;
    });
    await s.saveCommitted({ term: 1, index: 3 });
    // The timer fires while the append's sync is held: the meta write must queue behind it.
    await new Promise((r) => setTimeout(r, 20));
    expect(flushed).toBe(false);
    expect(rec.ops).toEqual([]);
    gate.release();
    await s.sync();
    expect(flushed).toBe(true);
    const syncAt = rec.ops.findIndex((o) => o.startsWith('sync ') && o.endsWith('.seg'));
    const metaAt = rec.ops.indexOf(`replace ${META_FILE}`);
    expect(syncAt, rec.ops.join(', ')).toBeGreaterThanOrEqual(0);
    expect(metaAt, rec.ops.join(', ')).toBeGreaterThan(syncAt);
    await s.close();
  });

  it('refuses a bad interval before touching the directory', async () => {
    await expect(fileLogStore(dir, { committedFlushMs: -1 })).rejects.toThrow(RangeError);
    await expect(fileLogStore(dir, { committedFlushMs: 1.5 })).rejects.toThrow(RangeError);
    await expect(fileLogStore(dir, { committedFlushMs: 60_001 })).rejects.toThrow(RangeError);
  });
});
