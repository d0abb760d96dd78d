import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { type FileHandleIO, type FileIO, nodeFileIO, type OpenMode } from '@flotilla/storage-file';

/** Options of {@link VolatileFileIO}. */
export interface VolatileFileIOOptions {
  /**
   * Files whose `datasync` does nothing (a planted bug: their writes are never made durable, so a
   * power loss drops them). Default: none.
   */
  skipFsync?: (path: string) => boolean;
}

interface Tracked {
  /** The file's size as a power loss leaves it. */
  durableSize: number;
  /** Bytes of the durable image overwritten since the last sync, oldest first. */
  undo: { position: number; bytes: Uint8Array }[];
}

function ioError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/**
 * A test-only `FileIO` over the real file system that keeps written-but-unsynced file contents in a
 * volatile layer, as a machine's page cache does: every call goes to the disk at once (so a
 * `kill -9` keeps what the kernel had, as it really does), and the wrapper remembers, per file, its
 * size at the last `datasync` and the bytes overwritten since. {@link powerLoss} stops all file
 * access and restores every file to its last synced image — what a power cut leaves. Namespace
 * changes (create, rename, unlink) count as durable at once, as on a file system mounted `dirsync`;
 * only file contents are volatile. {@link failNextFsync} makes the next `datasync` fail with `EIO`
 * (and sync nothing).
 */
export class VolatileFileIO implements FileIO {
  readonly incarnation = nodeFileIO.incarnation;
  readonly #files = new Map<string, Tracked>();
  readonly #skipFsync: (path: string) => boolean;
  #inflight = 0;
  #idle: (() => void)[] = [];
  #frozen = false;
  #failNext = false;
  /** `datasync` calls failed on purpose so far. */
  failedFsyncs = 0;

  constructor(opts: VolatileFileIOOptions = {}) {
    this.#skipFsync = opts.skipFsync ?? (() => false);
  }

  /** Makes the next `datasync` (of any file) fail with `EIO`. */
  failNextFsync(): void {
    this.#failNext = true;
  }

  /**
   * Simulates a power loss: every later file call hangs, in-flight calls are awaited, then every
   * file is put back to its last synced image (synchronously). Resolves with the unsynced bytes
   * dropped; the caller ends the process at once (nothing may run on after a power cut).
   */
  async powerLoss(): Promise<{ files: number; bytesDropped: number }> {
    this.#frozen = true;
    while (this.#inflight > 0) await new Promise<void>((r) => this.#idle.push(r));
    let files = 0;
    let bytesDropped = 0;
    for (const [path, t] of this.#files) {
      let fd: number;
      try {
        fd = openSync(path, 'r+');
      } catch {
        continue; // removed since
      }
      try {
        const size = fstatSync(fd).size;
        if (t.undo.length === 0 && size === t.durableSize) continue;
        files++;
        bytesDropped += Math.max(0, size - t.durableSize);
        for (let i = t.undo.length - 1; i >= 0; i--) {
          const u = t.undo[i] as { position: number; bytes: Uint8Array };
          writeSync(fd, u.bytes, 0, u.bytes.byteLength, u.position);
          bytesDropped += u.bytes.byteLength;
        }
        ftruncateSync(fd, t.durableSize);
      } finally {
        closeSync(fd);
      }
    }
    return { files, bytesDropped };
  }

  /** Runs `f` unless frozen (then it never settles); counts it in flight. */
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.#frozen) return new Promise<T>(() => {});
    this.#inflight++;
    try {
      return await f();
    } finally {
      this.#inflight--;
      if (this.#inflight === 0) for (const r of this.#idle.splice(0)) r();
    }
  }

  #track(path: string, size: number): Tracked {
    let t = this.#files.get(path);
    if (t === undefined) {
      t = { durableSize: size, undo: [] };
      this.#files.set(path, t);
    }
    return t;
  }

  /** @internal The tracking state of `path` (created with `size` as durable on first sight). */
  tracked(path: string, size: number): Tracked {
    return this.#track(path, size);
  }

  /** @internal Whether `path`'s `datasync` is skipped, and whether this one must fail. */
  syncPolicy(path: string): 'skip' | 'fail' | 'sync' {
    if (this.#failNext) {
      this.#failNext = false;
      this.failedFsyncs++;
      return 'fail';
    }
    return this.#skipFsync(path) ? 'skip' : 'sync';
  }

  open(path: string, mode: OpenMode): Promise<FileHandleIO> {
    const abs = resolve(path);
    return this.run(async () => {
      if (mode === 'createTruncate' && !this.#files.has(abs)) {
        // The truncation is volatile: keep the old contents to restore.
        let old: Uint8Array | undefined;
        try {
          old = readFileSync(abs);
        } catch {
          old = undefined;
        }
        if (old !== undefined) this.#track(abs, old.byteLength).undo.push({ position: 0, bytes: old });
      }
      const inner = await nodeFileIO.open(abs, mode);
      this.#track(abs, await inner.size());
      return new VolatileHandle(this, abs, inner);
    });
  }

  rename(from: string, to: string): Promise<void> {
    const a = resolve(from);
    const b = resolve(to);
    return this.run(async () => {
      await nodeFileIO.rename(a, b);
      const t = this.#files.get(a);
      this.#files.delete(a);
      if (t === undefined) this.#files.delete(b);
      else this.#files.set(b, t);
    });
  }

  unlink(path: string): Promise<void> {
    const abs = resolve(path);
    return this.run(async () => {
      await nodeFileIO.unlink(abs);
      this.#files.delete(abs);
    });
  }

  readdir(dir: string): Promise<string[]> {
    return this.run(() => nodeFileIO.readdir(dir));
  }

  mkdir(dir: string): Promise<void> {
    return this.run(() => nodeFileIO.mkdir(dir));
  }

  fsyncDir(dir: string): Promise<void> {
    return this.run(() => nodeFileIO.fsyncDir(dir));
  }

  processAlive(pid: number): boolean {
    return nodeFileIO.processAlive(pid);
  }
}

class VolatileHandle implements FileHandleIO {
  readonly #io: VolatileFileIO;
  readonly #path: string;
  readonly #inner: FileHandleIO;

  constructor(io: VolatileFileIO, path: string, inner: FileHandleIO) {
    this.#io = io;
    this.#path = path;
    this.#inner = inner;
  }

  #t(): Tracked {
    return this.#io.tracked(this.#path, 0);
  }

  /** Saves the durable bytes in `[from, to)` before they are overwritten or cut. */
  async #saveUndo(from: number, to: number): Promise<void> {
    const t = this.#t();
    const end = Math.min(to, t.durableSize);
    if (end <= from) return;
    const bytes = new Uint8Array(end - from);
    const n = await this.#inner.read(bytes, 0, bytes.byteLength, from);
    t.undo.push({ position: from, bytes: bytes.subarray(0, n) });
  }

  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.#io.run(() => this.#inner.read(buf, offset, length, position));
  }

  write(buf: Uint8Array, position: number): Promise<void> {
    return this.#io.run(async () => {
      await this.#saveUndo(position, position + buf.byteLength);
      await this.#inner.write(buf, position);
    });
  }

  writev(bufs: readonly Uint8Array[], position: number): Promise<void> {
    return this.#io.run(async () => {
      let total = 0;
      for (const b of bufs) total += b.byteLength;
      await this.#saveUndo(position, position + total);
      await this.#inner.writev(bufs, position);
    });
  }

  datasync(): Promise<void> {
    return this.#io.run(async () => {
      const policy = this.#io.syncPolicy(this.#path);
      if (policy === 'fail') throw ioError('EIO', `simulated fsync failure on ${this.#path}`);
      if (policy === 'skip') return;
      await this.#inner.datasync();
      const t = this.#t();
      t.durableSize = await this.#inner.size();
      t.undo = [];
    });
  }

  truncate(length: number): Promise<void> {
    return this.#io.run(async () => {
      await this.#saveUndo(length, Number.MAX_SAFE_INTEGER);
      await this.#inner.truncate(length);
    });
  }

  size(): Promise<number> {
    return this.#io.run(() => this.#inner.size());
  }

  close(): Promise<void> {
    return this.#io.run(() => this.#inner.close());
  }
}
