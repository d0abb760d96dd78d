/**
 * The store's exclusive lock file (pid and incarnation inside, a stale lock of a dead process is
 * taken over). Owns the lock's life only; must never read or write anything else in the directory.
 */
import { join } from 'node:path';
import { errnoOf, StoreOpenError } from './errors.ts';
import type { FileIO } from './file-io.ts';
import { readWhole } from './meta.ts';

/** The lock file's name. */
export const LOCK_FILE = 'LOCK';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A held lock; `release()` removes the lock file. */
export interface HeldLock {
  /** Removes the lock file. */
  release(): Promise<void>;
}

function isStale(io: FileIO, text: string): boolean {
  let owner: { pid?: unknown; incarnation?: unknown };
  try {
    owner = JSON.parse(text) as typeof owner;
  } catch {
    return true; // a torn lock file: its writer died while writing it.
  }
  if (typeof owner.pid !== 'number') return true;
  if (owner.pid === process.pid) return owner.incarnation !== io.incarnation;
  return !io.processAlive(owner.pid);
}

/**
 * Takes the directory's exclusive lock: creates `LOCK` with O_EXCL holding our pid and the I/O
 * incarnation. A lock left by a dead process (or by a crashed incarnation of this one) is taken
 * over; a live one fails with `STORE_LOCKED`.
 */
export async function acquireLock(io: FileIO, dir: string): Promise<HeldLock> {
  const path = join(dir, LOCK_FILE);
  const body = enc.encode(JSON.stringify({ pid: process.pid, incarnation: io.incarnation }));
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await io.open(path, 'createExclusive');
      try {
        await fh.write(body, 0);
      } finally {
        await fh.close();
      }
      return { release: () => io.unlink(path) };
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
    }
    let text: string;
    try {
      text = dec.decode(await readWhole(io, path));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' && attempt < 3) continue;
      throw err;
    }
    if (attempt >= 3 || !isStale(io, text))
      throw new StoreOpenError('STORE_LOCKED', path, null, `the store is locked by ${text || 'a process'}`);
    try {
      await io.unlink(path);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
  }
}
