/**
 * The file-backed snapshot store for state machines: snapshots written to a temp file, synced and
 * renamed, the newest `keep` kept. Independent of the log store; must never touch its files.
 */
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import type { SnapshotData, SnapshotMeta, SnapshotSink } from '@flotilla/types';
import { StorageError } from '@flotilla/types';
import { errnoOf } from './errors.ts';
import { type FileHandleIO, type FileIO, nodeFileIO } from './file-io.ts';
import { openIoError } from './meta.ts';

/** Options of {@link fileSnapshotStore}. */
export interface FileSnapshotStoreOptions {
  /** How many snapshots to keep (the newest). Default 2, at least 1. */
  keep?: number;
  /** File-system access. Default: `node:fs`. */
  io?: FileIO;
  /** Chunk size of the streams `read`/`latest` return. Default 64 KiB. */
  chunkBytes?: number;
}

/** A snapshot read back: its meta, its size and a stream of its data (verified as it is read). */
export interface StoredSnapshot {
  /** What it covers. */
  meta: SnapshotMeta;
  /** Data size in bytes. */
  bytes: number;
  /**
   * The data, read from disk once consumed; a checksum mismatch at the end of the stream throws a
   * `StorageError` (op `snapshot`), so a consumer never accepts corrupt data silently.
   */
  data: AsyncIterable<Uint8Array>;
}

const MAGIC = 0x46534e50; // 'FSNP'
const VERSION = 1;
const HEADER = 16; // magic, version, meta length, meta crc
const TRAILER = 12; // f64 data length, u32 data crc
const NAME_RE = /^snap-(\d{12})\.snap$/;
const enc = new TextEncoder();
const dec = new TextDecoder();

function snapName(seq: number): string {
  return `snap-${String(seq).padStart(12, '0')}.snap`;
}

/**
 * Opens (creating if needed) a directory of snapshots: removes leftover temp files and returns a
 * store that writes each snapshot to a temp file, `fdatasync`s it, renames it into place, fsyncs the
 * directory and keeps only the newest `keep`.
 */
export async function fileSnapshotStore(
  dir: string,
  options: FileSnapshotStoreOptions = {},
): Promise<FileSnapshotStore> {
  const root = resolve(dir);
  const io = options.io ?? nodeFileIO;
  const keep = options.keep ?? 2;
  if (!Number.isInteger(keep) || keep < 1)
    throw new RangeError(`fileSnapshotStore: keep must be >= 1, got ${keep}`);
  const chunk = options.chunkBytes ?? 64 * 1024;
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new RangeError(`fileSnapshotStore: bad chunkBytes ${chunk}`);
  let names: string[];
  try {
    await io.mkdir(root);
    names = await io.readdir(root);
    for (const n of names) if (n.endsWith('.snap.tmp')) await io.unlink(join(root, n));
  } catch (err) {
    throw openIoError(err, root, 'opening the snapshot directory');
  }
  let seq = 0;
  for (const n of names) {
    const m = NAME_RE.exec(n);
    if (m?.[1] !== undefined) seq = Math.max(seq, Number(m[1]));
  }
  return new FileSnapshotStore(root, io, keep, chunk, seq);
}

/** Snapshots in files. Obtain one with {@link fileSnapshotStore}. */
export class FileSnapshotStore {
  /** The directory (absolute). */
  readonly dir: string;
  readonly #io: FileIO;
  readonly #keep: number;
  readonly #chunk: number;
  #seq: number;
  #tail: Promise<unknown> = Promise.resolve();
  /** Temp files of snapshots being received, numbered per store. */
  #receiving = 0;

  /** @internal Use {@link fileSnapshotStore}. */
  constructor(dir: string, io: FileIO, keep: number, chunk: number, seq: number) {
    this.dir = dir;
    this.#io = io;
    this.#keep = keep;
    this.#chunk = chunk;
    this.#seq = seq;
  }

  /**
   * Writes a snapshot durably and makes it the newest; older ones beyond `keep` are deleted.
   * Saves are serialized. Resolves once the snapshot is durable.
   */
  save(meta: SnapshotMeta, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<void> {
    const run = this.#tail.then(() => this.#save(meta, data));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #save(meta: SnapshotMeta, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<void> {
    const name = snapName(this.#seq + 1);
    const tmp = join(this.dir, `${name}.tmp`);
    try {
      const metaBytes = enc.encode(JSON.stringify(meta));
      const header = new Uint8Array(HEADER);
      const hv = new DataView(header.buffer);
      hv.setUint32(0, MAGIC, false);
      hv.setUint32(4, VERSION, true);
      hv.setUint32(8, metaBytes.byteLength, true);
      hv.setUint32(12, crc32(metaBytes), true);
      const fh = await this.#io.open(tmp, 'createTruncate');
      try {
        await fh.write(header, 0);
        await fh.write(metaBytes, HEADER);
        let at = HEADER + metaBytes.byteLength;
        let crc = 0;
        let n = 0;
        const chunks = data instanceof Uint8Array ? [data] : data;
        for await (const c of chunks) {
          if (c.byteLength === 0) continue;
          await fh.write(c, at);
          crc = crc32(c, crc);
          at += c.byteLength;
          n += c.byteLength;
        }
        const trailer = new Uint8Array(TRAILER);
        const tv = new DataView(trailer.buffer);
        tv.setFloat64(0, n, true);
        tv.setUint32(8, crc, true);
        await fh.write(trailer, at);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await this.#io.rename(tmp, join(this.dir, name));
      await this.#io.fsyncDir(this.dir);
      this.#seq++;
      const all = await this.#names();
      const old = all.slice(this.#keep);
      for (const n of old) await this.#io.unlink(join(this.dir, n));
      if (old.length > 0) await this.#io.fsyncDir(this.dir);
    } catch (err) {
      await this.#io.unlink(tmp).catch(() => undefined);
      throw new StorageError('snapshot', `saving snapshot ${meta.snapshotId}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * A sink for a snapshot received from a leader (for `RaftStateMachine.beginReceivingSnapshot`):
   * the chunks go to a temp file in this directory, so a large snapshot never sits in memory;
   * `finish` returns a stream reading them back (checksummed like a stored snapshot), and `discard`
   * deletes the file (a crash leaves it for the next open to remove). What is received is not a
   * stored snapshot: the state machine installs from it, then saves its own.
   */
  async beginReceiving(): Promise<SnapshotSink> {
    const path = join(this.dir, `recv-${++this.#receiving}.snap.tmp`);
    const fail = (what: string, err: unknown): StorageError =>
      new StorageError('snapshot', `${what} ${path}: ${(err as Error).message}`, { cause: err });
    let fh: FileHandleIO | null;
    try {
      fh = await this.#io.open(path, 'createTruncate');
    } catch (err) {
      throw fail('creating', err);
    }
    let bytes = 0;
    let crc = 0;
    let state: 'receiving' | 'finished' | 'discarded' = 'receiving';
    const closeWriter = async (): Promise<void> => {
      const h = fh;
      fh = null;
      if (h !== null) await h.close();
    };
    return {
      write: async (chunk: Uint8Array): Promise<void> => {
        if (state !== 'receiving' || fh === null)
          throw new StorageError('snapshot', `${path}: not receiving`);
        if (chunk.byteLength === 0) return;
        try {
          await fh.write(chunk, bytes);
        } catch (err) {
          throw fail('writing', err);
        }
        crc = crc32(chunk, crc);
        bytes += chunk.byteLength;
      },
      finish: async (): Promise<SnapshotData> => {
        if (state !== 'receiving') throw new StorageError('snapshot', `${path}: not receiving`);
        state = 'finished';
        try {
          await closeWriter();
        } catch (err) {
          throw fail('closing', err);
        }
        return this.#stream(path, 0, bytes, crc);
      },
      discard: async (): Promise<void> => {
        if (state === 'discarded') return;
        state = 'discarded';
        await closeWriter().catch(() => undefined);
        try {
          await this.#io.unlink(path);
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT') throw fail('deleting', err);
        }
      },
    };
  }

  /** Snapshot file names, newest first. */
  async #names(): Promise<string[]> {
    const names = await this.#io.readdir(this.dir);
    return names.filter((n) => NAME_RE.test(n)).sort((a, b) => (a < b ? 1 : -1));
  }

  /** The metas of the stored snapshots, newest first. */
  async list(): Promise<SnapshotMeta[]> {
    const out: SnapshotMeta[] = [];
    for (const n of await this.#names()) {
      const s = await this.#open(n);
      if (s !== null) out.push(s.meta);
    }
    return out;
  }

  /** The newest snapshot, or `null` when there is none. */
  async latest(): Promise<StoredSnapshot | null> {
    const [newest] = await this.#names();
    return newest === undefined ? null : this.#open(newest);
  }

  /** The stored snapshot with this id, or `null`. */
  async read(snapshotId: string): Promise<StoredSnapshot | null> {
    for (const n of await this.#names()) {
      const s = await this.#open(n);
      if (s?.meta.snapshotId === snapshotId) return s;
    }
    return null;
  }

  async #open(name: string): Promise<StoredSnapshot | null> {
    const path = join(this.dir, name);
    let fh: FileHandleIO;
    try {
      fh = await this.#io.open(path, 'read');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return null; // deleted by a concurrent save
      throw new StorageError('snapshot', `opening ${path}`, { cause: err });
    }
    try {
      const size = await fh.size();
      const header = new Uint8Array(HEADER);
      if ((await fh.read(header, 0, HEADER, 0)) !== HEADER) throw new Error('short header');
      const hv = new DataView(header.buffer);
      if (hv.getUint32(0, false) !== MAGIC) throw new Error('not a snapshot file');
      if (hv.getUint32(4, true) !== VERSION) throw new Error(`unknown version ${hv.getUint32(4, true)}`);
      const metaLen = hv.getUint32(8, true);
      if (HEADER + metaLen + TRAILER > size) throw new Error('truncated file');
      const metaBytes = new Uint8Array(metaLen);
      await fh.read(metaBytes, 0, metaLen, HEADER);
      if (crc32(metaBytes) !== hv.getUint32(12, true)) throw new Error('meta checksum mismatch');
      const meta = JSON.parse(dec.decode(metaBytes)) as SnapshotMeta;
      const trailer = new Uint8Array(TRAILER);
      await fh.read(trailer, 0, TRAILER, size - TRAILER);
      const tv = new DataView(trailer.buffer);
      const bytes = tv.getFloat64(0, true);
      const start = HEADER + metaLen;
      if (bytes !== size - TRAILER - start) throw new Error('data length mismatch');
      await fh.close();
      return { meta, bytes, data: this.#stream(path, start, bytes, tv.getUint32(8, true)) };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw new StorageError('snapshot', `${path} is damaged: ${(err as Error).message}`, { cause: err });
    }
  }

  async *#stream(path: string, start: number, bytes: number, want: number): AsyncIterable<Uint8Array> {
    const fh = await this.#io.open(path, 'read');
    try {
      let crc = 0;
      for (let at = 0; at < bytes; ) {
        const n = Math.min(this.#chunk, bytes - at);
        const buf = new Uint8Array(n);
        const got = await fh.read(buf, 0, n, start + at);
        if (got !== n) throw new StorageError('snapshot', `${path}: short read at ${start + at}`);
        crc = crc32(buf, crc);
        at += n;
        if (at === bytes && crc !== want)
          throw new StorageError('snapshot', `${path}: data checksum mismatch`);
        yield buf;
      }
    } finally {
      await fh.close();
    }
  }
}
