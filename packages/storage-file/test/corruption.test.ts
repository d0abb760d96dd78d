import { readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileLogStore } from '../src/index.ts';
import { encodeMeta } from '../src/meta.ts';
import { appendDurable, entries, recordsEnd, tempDir } from './helpers.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  const s = await fileLogStore(dir, { segmentBytes: 200 });
  for (let i = 0; i < 30; i += 3) await appendDurable(s, entries(1, i, i + 3, 16));
  await s.close();
});
afterEach(async () => {
  await cleanup();
});

async function segments(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
}

async function flip(file: string, offset: number): Promise<void> {
  const b = await readFile(file);
  b[offset] = (b[offset] ?? 0) ^ 0x10;
  await writeFile(file, b);
}

describe('corruption is detected at open', () => {
  it('a flipped bit in a middle segment is a typed error naming the file and offset', async () => {
    const segs = await segments();
    expect(segs.length).toBeGreaterThan(3);
    const mid = join(dir, segs[1] as string);
    await flip(mid, 16 + 8 + 3);
    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'STORE_CORRUPT', file: mid, offset: 16 });
    // The lock was released: after repair the store opens again.
    await flip(mid, 16 + 8 + 3);
    const s = await fileLogStore(dir);
    expect((await s.getLogState()).lastLogId).toEqual({ term: 1, index: 29 });
    await s.close();
  });

  it('a flipped bit in the middle of the last segment (valid records after it) is an error too', async () => {
    const segs = await segments();
    const last = join(dir, segs[segs.length - 1] as string);
    const size = (await readFile(last)).byteLength;
    expect(size).toBeGreaterThan(60);
    await flip(last, 16 + 10);
    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'STORE_CORRUPT', file: last, offset: 16 });
  });

  it('a flipped bit in the tail record is cut and reported in the recovery summary', async () => {
    const segs = await segments();
    const last = join(dir, segs[segs.length - 1] as string);
    const buf = await readFile(last);
    await flip(last, recordsEnd(buf) - 2); // the last record, before the preallocated zeros
    const s = await fileLogStore(dir);
    expect(s.recovery.tornTail).toMatchObject({ file: last, reason: 'checksum' });
    const cut = s.recovery.tornTail?.offset ?? 0;
    expect(s.recovery.tornTail?.bytesCut).toBe(buf.byteLength - cut);
    expect((await s.getLogState()).lastLogId).toEqual({ term: 1, index: 28 });
    expect(await s.reader().tryGetLogEntries(0, 100)).toEqual(entries(1, 0, 29, 16));
    await appendDurable(s, entries(2, 29, 31, 16));
    await s.close();
    const t = await fileLogStore(dir);
    expect(t.recovery.tornTail).toBeNull();
    expect(await t.reader().tryGetLogEntries(0, 100)).toEqual([
      ...entries(1, 0, 29, 16),
      ...entries(2, 29, 31, 16),
    ]);
    await t.close();
  });

  it('a missing middle segment is a gap', async () => {
    const segs = await segments();
    await unlink(join(dir, segs[2] as string));
    await expect(fileLogStore(dir)).rejects.toMatchObject({
      code: 'STORE_GAP',
      file: join(dir, segs[3] as string),
    });
  });

  it('a damaged meta file is corrupt, a newer format version is refused', async () => {
    const meta = join(dir, 'meta');
    const good = await readFile(meta);
    await writeFile(meta, good.toString().replace('"format":1', '"format":2'));
    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'STORE_CORRUPT', file: meta });
    const newer = Buffer.from(encodeMeta({ vote: null, committed: null, lastPurged: null }))
      .toString()
      .replace('"format":1', '"format":7');
    const [json] = newer.split('\n');
    const { crc32 } = await import('node:zlib');
    await writeFile(meta, `${json}\n${crc32(json as string)}\n`);
    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'STORE_VERSION', file: meta });
  });

  it('a segment of a newer format version is refused', async () => {
    const segs = await segments();
    const first = join(dir, segs[0] as string);
    const b = await readFile(first);
    b.writeUInt32LE(9, 4);
    await writeFile(first, b);
    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'STORE_VERSION', file: first, offset: 4 });
  });
});
