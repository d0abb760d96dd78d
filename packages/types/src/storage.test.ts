import { describe, expect, it } from 'vitest';
import { blankEntry, type Entry, entryDataBytes, membershipEntry, normalEntry } from './entry.ts';
import { collectSnapshotData, snapshotDataOf } from './snapshot.ts';
import { keyLogIdsByBinarySearch } from './storage.ts';

function readerOf(terms: number[]) {
  const log: Entry[] = terms.map((t, i) => blankEntry(t, i));
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    async tryGetLogEntries(start: number, end: number) {
      reads++;
      return log.slice(start, end);
    },
  };
}

describe('keyLogIdsByBinarySearch', () => {
  it('finds the last log id of every term in the range', async () => {
    const r = readerOf([1, 1, 1, 2, 2, 4, 4, 4, 4, 5]);
    expect(await keyLogIdsByBinarySearch(r, { term: 1, index: 0 }, { term: 5, index: 9 })).toEqual([
      { term: 1, index: 2 },
      { term: 2, index: 4 },
      { term: 4, index: 8 },
      { term: 5, index: 9 },
    ]);
    expect(await keyLogIdsByBinarySearch(r, { term: 4, index: 5 }, { term: 4, index: 7 })).toEqual([
      { term: 4, index: 7 },
    ]);
  });
  it('reads O(terms × log n) entries, not the whole log', async () => {
    const terms = Array.from({ length: 4096 }, (_, i) => (i < 2048 ? 1 : 2));
    const r = readerOf(terms);
    await keyLogIdsByBinarySearch(r, { term: 1, index: 0 }, { term: 2, index: 4095 });
    expect(r.reads).toBeLessThan(20);
  });
  it('throws when an entry is missing', async () => {
    const r = { tryGetLogEntries: async () => [] as Entry[] };
    await expect(keyLogIdsByBinarySearch(r, { term: 1, index: 0 }, { term: 2, index: 9 })).rejects.toThrow(
      'missing',
    );
  });
});

describe('entries and snapshot data', () => {
  it('builds entries and counts data bytes', () => {
    expect(entryDataBytes(normalEntry(1, 2, new Uint8Array(7)))).toBe(7);
    expect(entryDataBytes(blankEntry(1, 2))).toBe(0);
    expect(membershipEntry(1, 0, { configs: [['a']], nodes: { a: { addr: 'x' } } }).payload.type).toBe(
      'membership',
    );
  });
  it('chunks and collects snapshot data', async () => {
    const bytes = Uint8Array.from({ length: 10 }, (_, i) => i);
    const chunks: Uint8Array[] = [];
    for await (const c of snapshotDataOf(bytes, 4)) chunks.push(c);
    expect(chunks.map((c) => c.byteLength)).toEqual([4, 4, 2]);
    expect(await collectSnapshotData(snapshotDataOf(bytes, 3))).toEqual(bytes);
    expect(await collectSnapshotData(snapshotDataOf(new Uint8Array(0)))).toEqual(new Uint8Array(0));
  });
});
