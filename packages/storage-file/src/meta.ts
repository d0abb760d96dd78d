/**
 * The meta file (vote, committed id, last purged id, format version): its checksummed encoding and
 * its atomic replace (temp + fsync + rename + directory fsync). Must never decide when to write it.
 */
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { LogId, Vote } from '@flotilla/types';
import { validateOptionalLogId, validateVote } from '@flotilla/types';
import { errnoOf, StoreOpenError } from './errors.ts';
import type { FileIO } from './file-io.ts';
import { FORMAT_VERSION } from './record.ts';

/** The magic string of a log store's meta file. */
export const META_MAGIC = 'flotilla-log-store';
/** The meta file's name. */
export const META_FILE = 'meta';
/** The temporary name the meta file is written under before its rename. */
export const META_TMP_FILE = 'meta.tmp';

/** What the meta file holds. */
export interface MetaState {
  /** The last saved vote. */
  vote: Vote | null;
  /** The last saved committed log id. */
  committed: LogId | null;
  /** The last purged log id. */
  lastPurged: LogId | null;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Renders the meta file: a JSON line and a line with its CRC32. */
export function encodeMeta(m: MetaState): Uint8Array {
  const json = JSON.stringify({
    magic: META_MAGIC,
    format: FORMAT_VERSION,
    vote: m.vote,
    committed: m.committed,
    lastPurged: m.lastPurged,
  });
  return enc.encode(`${json}\n${crc32(json)}\n`);
}

/** Reads a whole small file. */
export async function readWhole(io: FileIO, path: string): Promise<Uint8Array> {
  const fh = await io.open(path, 'read');
  try {
    const size = await fh.size();
    const buf = new Uint8Array(size);
    const n = await fh.read(buf, 0, size, 0);
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** Writes `bytes` to `dir/name` atomically: temp file, datasync, rename, directory fsync. */
export async function writeAtomic(io: FileIO, dir: string, name: string, tmp: string, bytes: Uint8Array) {
  const tmpPath = join(dir, tmp);
  const fh = await io.open(tmpPath, 'createTruncate');
  try {
    await fh.write(bytes, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await io.rename(tmpPath, join(dir, name));
  await io.fsyncDir(dir);
}

/** Parses a meta file, or throws a `StoreOpenError` saying why it cannot be used. */
export function decodeMeta(bytes: Uint8Array, path: string): MetaState {
  let text: string;
  try {
    text = dec.decode(bytes);
  } catch {
    throw new StoreOpenError('NOT_A_STORE', path, 0, 'the meta file is not text');
  }
  const nl = text.indexOf('\n');
  const json = nl < 0 ? text : text.slice(0, nl);
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch {
    obj = undefined;
  }
  const looksOurs = text.includes(`"magic":"${META_MAGIC}"`);
  if (obj === null || typeof obj !== 'object' || (obj as { magic?: unknown }).magic !== META_MAGIC) {
    if (looksOurs) throw new StoreOpenError('STORE_CORRUPT', path, 0, 'the meta file is damaged');
    throw new StoreOpenError('NOT_A_STORE', path, 0, 'not a flotilla log store meta file');
  }
  const crcText = text.slice(nl + 1).trim();
  if (nl < 0 || crcText !== String(crc32(json)))
    throw new StoreOpenError('STORE_CORRUPT', path, nl < 0 ? 0 : nl + 1, 'the meta file checksum is wrong');
  const o = obj as Record<string, unknown>;
  if (typeof o.format !== 'number' || !Number.isInteger(o.format) || o.format < 1)
    throw new StoreOpenError('STORE_CORRUPT', path, 0, 'the meta file has no format version');
  if (o.format > FORMAT_VERSION)
    throw new StoreOpenError(
      'STORE_VERSION',
      path,
      0,
      `the store has format version ${o.format}; this build reads up to ${FORMAT_VERSION}`,
    );
  try {
    return {
      vote: o.vote === null || o.vote === undefined ? null : validateVote(o.vote, 'vote'),
      committed: validateOptionalLogId(o.committed, 'committed'),
      lastPurged: validateOptionalLogId(o.lastPurged, 'lastPurged'),
    };
  } catch (err) {
    throw new StoreOpenError('STORE_CORRUPT', path, 0, `the meta file holds invalid values`, { cause: err });
  }
}

/** Maps an I/O error during open to a `StoreOpenError`. */
export function openIoError(err: unknown, path: string, what: string): StoreOpenError {
  if (err instanceof StoreOpenError) return err;
  const code = errnoOf(err);
  if (code === 'EACCES' || code === 'EPERM')
    return new StoreOpenError('STORE_ACCESS', path, null, `permission denied while ${what}`, { cause: err });
  if (code === 'ENOTDIR')
    return new StoreOpenError('NOT_A_STORE', path, null, `not a directory (while ${what})`, { cause: err });
  return new StoreOpenError('STORE_IO', path, null, `I/O error while ${what}: ${code ?? String(err)}`, {
    cause: err,
  });
}
