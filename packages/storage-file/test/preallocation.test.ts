import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLogStore } from '../src/index.ts';
import { CrashFileIO, type CrashVariant } from '../src/testing/index.ts';
import { appendDurable, entries, recordsEnd, tempDirPerTest } from './helpers.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});

async function segmentFiles(d = dir): Promise<string[]> {
  return (await readdir(d))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(d, n));
}

const allZero = (b: Uint8Array) => b.every((x) => x === 0);

describe('preallocated segment space', () => {
  it('keeps zeros ahead of the tail, overwrites them, and reopens on them as the clean end', async () => {
    const s = await fileLogStore(dir, { preallocateBytes: 4096 });
    await appendDurable(s, entries(1, 0, 5, 16));
    await s.sync(); // the zero fill after the batch
    expect(s.stats().preallocations).toBe(1);
    const [seg] = await segmentFiles();
    const first = await readFile(seg as string);
    const end = recordsEnd(first);
    expect(first.byteLength).toBe(end + 4096); // zeros up to preallocateBytes past the logical end
    expect(allZero(first.subarray(end))).toBe(true);
    // Later batches overwrite the zeros: the file does not grow while more than half is left.
    for (let i = 5; i < 40; i += 5) await appendDurable(s, entries(1, i, i + 5, 16));
    await s.sync();
    expect((await stat(seg as string)).size).toBe(first.byteLength);
    await s.close();

    const t = await fileLogStore(dir, { preallocateBytes: 4096 });
    expect(t.recovery.tornTail).toBeNull();
    expect(t.recovery.removedFiles).toEqual([]);
    expect(await t.reader().tryGetLogEntries(0, 100)).toEqual(entries(1, 0, 40, 16));
    // The zero tail is kept (the file keeps its size) and the next appends land after the records.
    expect((await stat(seg as string)).size).toBe(first.byteLength);
    await appendDurable(t, entries(2, 40, 45, 16));
    await t.close();
    const u = await fileLogStore(dir);
    expect(u.recovery.tornTail).toBeNull();
    expect(await u.reader().tryGetLogEntries(0, 100)).toEqual([
      ...entries(1, 0, 40, 16),
      ...entries(2, 40, 45, 16),
    ]);
    await u.close();
  });

  it('refills when less than half is left, never past segmentBytes; 0 turns it off', async () => {
    const s = await fileLogStore(dir, { preallocateBytes: 256, segmentBytes: 1000 });
    for (let i = 0; i < 60; i += 2) await appendDurable(s, entries(1, i, i + 2, 16));
    await s.sync();
    expect(s.stats().preallocations).toBeGreaterThan(2);
    const files = await segmentFiles();
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) {
      const b = await readFile(f);
      expect(b.byteLength).toBeLessThanOrEqual(1000);
      expect(allZero(b.subarray(recordsEnd(b)))).toBe(true);
    }
    // Segments before the last keep their zero tail (recovery reads it as their end).
    const firstSeg = await readFile(files[0] as string);
    expect(firstSeg.byteLength).toBeGreaterThan(recordsEnd(firstSeg));
    await s.close();
    const t = await fileLogStore(dir);
    expect(t.recovery.tornTail).toBeNull();
    expect(await t.reader().tryGetLogEntries(0, 100)).toEqual(entries(1, 0, 60, 16));
    await t.close();

    const off = join(dir, 'off');
    const o = await fileLogStore(off, { preallocateBytes: 0 });
    await appendDurable(o, entries(1, 0, 5, 16));
    await o.sync();
    expect(o.stats().preallocations).toBe(0);
    const b = await readFile((await segmentFiles(off))[0] as string);
    expect(b.byteLength).toBe(recordsEnd(b));
    await o.close();
    await expect(fileLogStore(join(dir, 'bad'), { preallocateBytes: -1 })).rejects.toThrow(
      /preallocateBytes/,
    );
    await expect(fileLogStore(join(dir, 'bad'), { preallocateBytes: 1.5 })).rejects.toThrow(
      /preallocateBytes/,
    );
  });

  it('a torn record followed by zeros is still a torn tail, cut with the zeros', async () => {
    const s = await fileLogStore(dir, { preallocateBytes: 4096 });
    await appendDurable(s, entries(1, 0, 5, 16));
    await s.close();
    const [seg] = await segmentFiles();
    const buf = await readFile(seg as string);
    const end = recordsEnd(buf);
    const recordBytes = (end - 16) / 5;
    const lastRecord = end - recordBytes;
    buf.fill(0, lastRecord + recordBytes / 2, end); // the second half of the last record never landed
    await writeFile(seg as string, buf);
    const t = await fileLogStore(dir);
    expect(t.recovery.tornTail).toMatchObject({
      file: seg,
      offset: lastRecord,
      bytesCut: buf.byteLength - lastRecord,
      reason: 'checksum',
    });
    expect((await stat(seg as string)).size).toBe(lastRecord);
    expect(await t.reader().tryGetLogEntries(0, 100)).toEqual(entries(1, 0, 4, 16));
    await appendDurable(t, entries(2, 4, 6, 16));
    await t.close();
    const u = await fileLogStore(dir);
    expect(await u.reader().tryGetLogEntries(0, 100)).toEqual([
      ...entries(1, 0, 4, 16),
      ...entries(2, 4, 6, 16),
    ]);
    await u.close();
  });

  it('garbage or a zeroed record in the middle, before the zeros, is still corruption', async () => {
    const s = await fileLogStore(dir, { preallocateBytes: 4096 });
    await appendDurable(s, entries(1, 0, 5, 16));
    await s.close();
    const [seg] = await segmentFiles();
    const clean = await readFile(seg as string);
    const recordBytes = (recordsEnd(clean) - 16) / 5;
    const garbled = Buffer.from(clean);
    garbled[16 + recordBytes + 10] = (garbled[16 + recordBytes + 10] ?? 0) ^ 0x44;
    await writeFile(seg as string, garbled);
    await expect(fileLogStore(dir)).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      file: seg,
      offset: 16 + recordBytes,
    });
    const zeroed = Buffer.from(clean);
    zeroed.fill(0, 16 + recordBytes, 16 + 2 * recordBytes); // a whole record of zeros, valid ones after
    await writeFile(seg as string, zeroed);
    await expect(fileLogStore(dir)).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      file: seg,
      offset: 16 + recordBytes,
    });
  });

  it('a segment before the last whose records end early in zeros leaves a gap', async () => {
    const s = await fileLogStore(dir, { preallocateBytes: 256, segmentBytes: 200 });
    for (let i = 0; i < 20; i += 2) await appendDurable(s, entries(1, i, i + 2, 16));
    await s.close();
    const files = await segmentFiles();
    expect(files.length).toBeGreaterThan(2);
    const mid = files[1] as string;
    const buf = await readFile(mid);
    const end = recordsEnd(buf);
    const firstOf = (f: string) => Number(f.slice(-24, -4));
    const recordBytes = (end - 16) / (firstOf(files[2] as string) - firstOf(mid));
    expect(Number.isInteger(recordBytes)).toBe(true);
    buf.fill(0, end - recordBytes, end); // its last record turned to zeros: reads as a clean end
    await writeFile(mid, buf);
    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'STORE_GAP', file: files[2] });
  });

  it('truncate cuts the preallocated zeros too; appends and reopens continue the log', async () => {
    const s = await fileLogStore(dir, { preallocateBytes: 1024 });
    await appendDurable(s, entries(1, 0, 10, 16));
    await s.sync();
    const [seg] = await segmentFiles();
    expect((await stat(seg as string)).size).toBeGreaterThan(recordsEnd(await readFile(seg as string)));
    await s.truncate({ term: 1, index: 6 });
    const cut = await readFile(seg as string);
    expect(cut.byteLength).toBe(recordsEnd(cut));
    await appendDurable(s, entries(2, 6, 9, 16));
    await s.sync();
    await s.close();
    const t = await fileLogStore(dir);
    expect(t.recovery.tornTail).toBeNull();
    expect(await t.reader().tryGetLogEntries(0, 100)).toEqual([
      ...entries(1, 0, 6, 16),
      ...entries(2, 6, 9, 16),
    ]);
    await t.close();
  });

  it('purge, also past the end, with preallocated segments', async () => {
    const s = await fileLogStore(dir, { preallocateBytes: 256, segmentBytes: 200 });
    for (let i = 0; i < 20; i += 2) await appendDurable(s, entries(1, i, i + 2, 16));
    await s.purge({ term: 1, index: 12 });
    await s.close();
    const t = await fileLogStore(dir, { preallocateBytes: 256, segmentBytes: 200 });
    expect(await t.getLogState()).toEqual({
      lastPurgedLogId: { term: 1, index: 12 },
      lastLogId: { term: 1, index: 19 },
    });
    expect(await t.reader().tryGetLogEntries(13, 100)).toEqual(entries(1, 13, 20, 16));
    await t.purge({ term: 2, index: 30 });
    await appendDurable(t, entries(2, 31, 33, 16));
    await t.close();
    const u = await fileLogStore(dir);
    expect(u.recovery.tornTail).toBeNull();
    expect(await u.getLogState()).toEqual({
      lastPurgedLogId: { term: 2, index: 30 },
      lastLogId: { term: 2, index: 31 + 1 },
    });
    expect(await u.reader().tryGetLogEntries(31, 100)).toEqual(entries(2, 31, 33, 16));
    await u.close();
  });
});

describe('crashes and preallocation (CrashFileIO)', () => {
  const OPTS = { preallocateBytes: 200, segmentBytes: 4096 };
  const VARIANTS: CrashVariant[] = ['loseUnsynced', 'tearLastWrite', { keepPrefix: 1 }, 'loseRenames'];

  /** Appends 0-4 then 5-9, each awaited; returns the store's mutation count after each step. */
  async function workload(io: CrashFileIO): Promise<{ acked: number; marks: number[] }> {
    let acked = 0;
    const marks: number[] = [];
    try {
      const s = await fileLogStore('/s', { ...OPTS, io });
      marks.push(io.mutations);
      await appendDurable(s, entries(1, 0, 5, 16));
      acked = 5;
      marks.push(io.mutations);
      await s.sync();
      marks.push(io.mutations);
      await appendDurable(s, entries(1, 5, 10, 16));
      acked = 10;
      marks.push(io.mutations);
      await s.close();
    } catch {
      // The simulated process died.
    }
    return { acked, marks };
  }

  async function checkAfter(io: CrashFileIO, acked: number, what: string): Promise<void> {
    const s = await fileLogStore('/s', { ...OPTS, io });
    const log = await s.reader().tryGetLogEntries(0, 100);
    expect(log.length, what).toBeGreaterThanOrEqual(acked);
    expect(log, what).toEqual(entries(1, 0, log.length, 16));
    const next = log.length;
    await appendDurable(s, entries(2, next, next + 3, 16));
    await s.close();
    const t = await fileLogStore('/s', { ...OPTS, io });
    expect(await t.reader().tryGetLogEntries(0, 100), what).toEqual([
      ...entries(1, 0, next, 16),
      ...entries(2, next, next + 3, 16),
    ]);
    await t.close();
  }

  it('a crash with a preallocated tail recovers every acknowledged entry, no torn tail', async () => {
    const io = new CrashFileIO();
    const { acked } = await workload(io);
    expect(acked).toBe(10);
    const seg = io.peek('/s/00000000000000000000.seg') as Uint8Array;
    expect(seg.byteLength).toBeGreaterThan(recordsEnd(seg)); // zeros after the records
    for (const v of VARIANTS) {
      const after = io.crash(v);
      const s = await fileLogStore('/s', { ...OPTS, io: after });
      expect(s.recovery.tornTail, JSON.stringify(v)).toBeNull();
      await s.close();
      await checkAfter(after, 10, JSON.stringify(v));
    }
  });

  it('a crash at every point of a zero fill (mid-write, before its sync) recovers', async () => {
    const clean = new CrashFileIO();
    const { marks } = await workload(clean);
    // Between the first batch's flush and the end of sync(): the zero fill's write and datasync.
    const [, afterBatch = 0, afterFill = 0] = marks;
    expect(afterFill - afterBatch).toBe(2);
    for (let n = afterBatch; n <= afterFill + 1; n++) {
      const probe = new CrashFileIO();
      probe.crashAfter = n;
      const { acked } = await workload(probe);
      expect(acked).toBe(5);
      for (const v of VARIANTS) await checkAfter(probe.crash(v), 5, `crash after ${n}, ${JSON.stringify(v)}`);
    }
  });
});
