import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '@flotilla/types';
import { afterEach, beforeEach } from 'vitest';

/** A fresh temporary directory and its cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-sf-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Gives each test of the calling file its own fresh temporary directory: before the test one is made
 * and handed to `use`; after the test it is removed.
 */
export function tempDirPerTest(use: (dir: string) => void): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    use(t.dir);
  });
  afterEach(async () => {
    await cleanup?.();
  });
}

/** A normal entry whose data encodes its own id (so a wrong entry never looks right). */
export function entry(term: number, index: number, bytes = 8): Entry {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { logId: { term, index }, payload: { type: 'normal', data } };
}

/** Entries `[from, to)` at `term`. */
export function entries(term: number, from: number, to: number, bytes = 8): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i < to; i++) out.push(entry(term, i, bytes));
  return out;
}

/** Appends and waits for the flush callback; rejects with the callback's error. */
export function appendDurable(
  store: { append(e: readonly Entry[], cb: (err?: Error) => void): Promise<void> },
  es: readonly Entry[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    store.append(es, (err) => (err === undefined ? resolve() : reject(err))).catch(reject);
  });
}

/**
 * Where the records of a segment file's bytes end: walks the record headers (u32 length, u32 CRC)
 * from after the 16-byte segment header until one says length 0 (preallocated zeros) or the file ends.
 */
export function recordsEnd(buf: Uint8Array): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 16;
  while (at + 8 <= buf.byteLength) {
    const length = view.getUint32(at, true);
    if (length === 0) break;
    at += 8 + length;
  }
  return at;
}
