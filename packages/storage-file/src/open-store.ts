/**
 * Opening a file log store: refuses a directory that is not a store (or is locked, of a newer
 * format, corrupt or with a gap), creates an empty store where allowed, takes the exclusive lock,
 * reads the meta file and hands the segments to recovery, which verifies them and cuts a torn tail.
 *
 * Owns the start-up sequence and the lock's release when it fails. Must never write log entries or
 * change the meta file of an existing store (it writes only the initial meta of a new one).
 */
import { join, resolve } from 'node:path';
import { nextIndex } from '@flotilla/types';
import { errnoOf, StoreOpenError } from './errors.ts';
import { nodeFileIO } from './file-io.ts';
import { acquireLock, type HeldLock, LOCK_FILE } from './lock.ts';
import { FileLogStore } from './log-store.ts';
import {
  decodeMeta,
  encodeMeta,
  META_FILE,
  META_TMP_FILE,
  openIoError,
  readWhole,
  writeAtomic,
} from './meta.ts';
import { type FileLogStoreOptions, resolveOptions } from './options.ts';
import { recoverSegments } from './recovery.ts';
import { parseSegmentName } from './segment.ts';

/**
 * Opens (or creates) the file log store in `dir`: takes the directory lock, reads the meta file,
 * scans and verifies every segment, cuts a torn tail and builds the entry locations.
 *
 * @throws `StoreOpenError` `NOT_A_STORE`, `STORE_LOCKED`, `STORE_VERSION`, `STORE_CORRUPT`,
 *   `STORE_GAP`, `STORE_ACCESS` or `STORE_IO`, naming the file and offset at fault.
 */
export async function fileLogStore(dir: string, options: FileLogStoreOptions = {}): Promise<FileLogStore> {
  resolveOptions(options); // refuse bad options before touching the directory
  const root = resolve(dir);
  const io = options.io ?? nodeFileIO;
  const create = options.create ?? true;
  let names: string[];
  try {
    names = await io.readdir(root);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw openIoError(err, root, 'listing the directory');
    if (!create)
      throw new StoreOpenError('NOT_A_STORE', root, null, 'no store here (the directory is missing)');
    try {
      await io.mkdir(root);
    } catch (e) {
      throw openIoError(e, root, 'creating the directory');
    }
    names = [];
  }
  const hasMeta = names.includes(META_FILE);
  const segFirsts = names
    .map(parseSegmentName)
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  if (!hasMeta) {
    const other = names.filter((n) => n !== LOCK_FILE && n !== META_TMP_FILE);
    if (other.length > 0)
      throw new StoreOpenError(
        segFirsts.length > 0 ? 'STORE_CORRUPT' : 'NOT_A_STORE',
        root,
        null,
        segFirsts.length > 0
          ? 'segments without a meta file'
          : `not a flotilla log store (has ${other.slice(0, 3).join(', ')}${other.length > 3 ? ', …' : ''})`,
      );
    if (!create)
      throw new StoreOpenError('NOT_A_STORE', root, null, 'no store here (the directory is empty)');
  }
  let lock: HeldLock;
  try {
    lock = await acquireLock(io, root);
  } catch (err) {
    throw openIoError(err, join(root, LOCK_FILE), 'taking the lock');
  }
  const metaPath = join(root, META_FILE);
  try {
    if (!hasMeta) {
      await writeAtomic(
        io,
        root,
        META_FILE,
        META_TMP_FILE,
        encodeMeta({ vote: null, committed: null, lastPurged: null }),
      );
    }
    const meta = decodeMeta(await readWhole(io, metaPath), metaPath);
    const removed: string[] = [];
    if (hasMeta && names.includes(META_TMP_FILE)) {
      await io.unlink(join(root, META_TMP_FILE));
      removed.push(join(root, META_TMP_FILE));
    }
    const rec = await recoverSegments(io, root, segFirsts, nextIndex(meta.lastPurged));
    rec.summary.removedFiles.unshift(...removed);
    return new FileLogStore(root, io, options, lock, meta, rec.segments, rec.locations, rec.summary);
  } catch (err) {
    await lock.release().catch(() => undefined);
    throw openIoError(err, metaPath, 'opening the store');
  }
}
