/**
 * `FileIO`: the only way this package touches the file system, and `nodeFileIO`, its `node:fs`
 * implementation. Must never hold store logic; tests swap it for a crashing or faulty one.
 */
import { randomUUID } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { processAlive } from './process-alive.ts';

/**
 * How to open a file: `read` (must exist, read only), `readWrite` (must exist), `create` (read and
 * write, created if missing, never truncated), `createExclusive` (fails with `EEXIST` if present),
 * `createTruncate` (created or emptied).
 */
export type OpenMode = 'read' | 'readWrite' | 'create' | 'createExclusive' | 'createTruncate';

/** An open file. Positions are absolute byte offsets; nothing depends on a file cursor. */
export interface FileHandleIO {
  /** Reads up to `length` bytes at `position` into `buf` from `offset`; resolves with the count read. */
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Writes all of `buf` at `position`. */
  write(buf: Uint8Array, position: number): Promise<void>;
  /** Writes all of `bufs`, one after the other, at `position` (one system call when possible). */
  writev(bufs: readonly Uint8Array[], position: number): Promise<void>;
  /** Makes the file's data (and the metadata needed to read it, such as its size) durable. */
  datasync(): Promise<void>;
  /**
   * Optional: writes all of `bufs` at `position` and makes them durable, as `writev` then
   * `datasync` would (the data and the metadata needed to read it, such as the size; what earlier
   * writes of this handle left unsynced need not be), in as few system calls as it can. The group
   * commit writer uses it when present, so each batch costs one trip to the file system instead of
   * two. `nodeFileIO` writes through a second descriptor opened with `O_DSYNC`.
   */
  writeDurable?(bufs: readonly Uint8Array[], position: number): Promise<void>;
  /** Sets the file's size. */
  truncate(length: number): Promise<void>;
  /** The file's current size in bytes. */
  size(): Promise<number>;
  /** Closes the handle. */
  close(): Promise<void>;
}

/**
 * Every file-system call the stores make. The default, {@link nodeFileIO}, uses `node:fs/promises`;
 * tests inject faults and crashes through another implementation (see `CrashFileIO`).
 */
export interface FileIO {
  /**
   * Identifies this "boot" of the process for lock files: a lock written by the same pid under
   * another incarnation is stale (the process that wrote it crashed).
   */
  readonly incarnation: string;
  /** Opens a file. */
  open(path: string, mode: OpenMode): Promise<FileHandleIO>;
  /** Atomically renames `from` to `to`, replacing `to`. Durable only after `fsyncDir`. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file. Durable only after `fsyncDir`. */
  unlink(path: string): Promise<void>;
  /** The names in a directory (rejects with `ENOENT` if it does not exist, `ENOTDIR` if a file). */
  readdir(dir: string): Promise<string[]>;
  /** Creates a directory and its parents (no error if it exists). */
  mkdir(dir: string): Promise<void>;
  /** Makes the directory's entries (created, renamed, removed files) durable. */
  fsyncDir(dir: string): Promise<void>;
  /**
   * Whether a process with this pid is alive (for stale lock detection). A zombie (exited, not yet
   * reaped) is not alive: it holds nothing.
   */
  processAlive(pid: number): boolean;
}

const NODE_INCARNATION = randomUUID();

const FLAGS: Record<OpenMode, number> = {
  read: constants.O_RDONLY,
  readWrite: constants.O_RDWR,
  create: constants.O_RDWR | constants.O_CREAT,
  createExclusive: constants.O_RDWR | constants.O_CREAT | constants.O_EXCL,
  createTruncate: constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC,
};

/** Writes all of `bufs` at `position` through `fh`, finishing a short vectored write from a copy. */
async function writevAll(fh: fsp.FileHandle, bufs: readonly Uint8Array[], position: number): Promise<void> {
  let total = 0;
  for (const b of bufs) total += b.byteLength;
  const { bytesWritten } = await fh.writev(bufs as Uint8Array[], position);
  if (bytesWritten >= total) return;
  const rest = Buffer.concat(bufs as Uint8Array[], total).subarray(bytesWritten);
  let done = 0;
  while (done < rest.byteLength) {
    const r = await fh.write(rest, done, rest.byteLength - done, position + bytesWritten + done);
    done += r.bytesWritten;
  }
}

class NodeFileHandle implements FileHandleIO {
  readonly #fh: fsp.FileHandle;
  readonly #path: string;
  /** A second descriptor of the file, opened with `O_DSYNC` on the first `writeDurable`. */
  #dsync: Promise<fsp.FileHandle> | null = null;
  #closed = false;
  constructor(fh: fsp.FileHandle, path: string) {
    this.#fh = fh;
    this.#path = path;
  }
  async read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#fh.read(buf, offset + done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }
  async write(buf: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < buf.byteLength) {
      const { bytesWritten } = await this.#fh.write(buf, done, buf.byteLength - done, position + done);
      done += bytesWritten;
    }
  }
  writev(bufs: readonly Uint8Array[], position: number): Promise<void> {
    return writevAll(this.#fh, bufs, position);
  }
  datasync(): Promise<void> {
    return this.#fh.datasync();
  }
  /**
   * One `pwritev` on an `O_DSYNC` descriptor: durable when it returns, like `writev` + `datasync`
   * but one trip through libuv's thread pool instead of two (the event loop is free meanwhile, and
   * a busy one no longer delays the `fdatasync` until it has noticed the write's completion).
   */
  async writeDurable(bufs: readonly Uint8Array[], position: number): Promise<void> {
    if (this.#closed) throw Object.assign(new Error(`EBADF: ${this.#path} is closed`), { code: 'EBADF' });
    if (this.#dsync === null) {
      const opening = fsp.open(this.#path, constants.O_WRONLY | constants.O_DSYNC);
      this.#dsync = opening;
      opening.catch(() => {
        if (this.#dsync === opening) this.#dsync = null;
      });
    }
    await writevAll(await this.#dsync, bufs, position);
  }
  truncate(length: number): Promise<void> {
    return this.#fh.truncate(length);
  }
  async size(): Promise<number> {
    return (await this.#fh.stat()).size;
  }
  async close(): Promise<void> {
    this.#closed = true;
    const dsync = this.#dsync;
    this.#dsync = null;
    try {
      if (dsync !== null) await (await dsync.catch(() => null))?.close();
    } finally {
      await this.#fh.close();
    }
  }
}

/** The real file system, through `node:fs/promises`. */
export const nodeFileIO: FileIO = {
  incarnation: NODE_INCARNATION,
  async open(path, mode) {
    return new NodeFileHandle(await fsp.open(path, FLAGS[mode], 0o644), path);
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  readdir: (dir) => fsp.readdir(dir),
  async mkdir(dir) {
    await fsp.mkdir(dir, { recursive: true });
  },
  async fsyncDir(dir) {
    const fh = await fsp.open(dir, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  processAlive,
};
