/**
 * `CrashFileIO`, a published test double (subpath `./testing`): an in-memory file system that
 * simulates power loss and injects I/O faults. Must never be imported by the package's main entry.
 */
import { randomUUID } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import type { FileHandleIO, FileIO, OpenMode } from '../file-io.ts';

/**
 * How a simulated crash treats data that was written but not made durable:
 * - `loseUnsynced`: every unsynced write, truncate, create, rename and unlink is lost;
 * - `{ keepPrefix: n }`: the first `n` unsynced operations (in issue order) survive, the rest are lost;
 * - `tearLastWrite`: everything up to the last write survives, and only half of that write;
 * - `loseRenames`: every unsynced operation survives except renames not followed by a directory fsync.
 */
export type CrashVariant = 'loseUnsynced' | { keepPrefix: number } | 'tearLastWrite' | 'loseRenames';

/** A file-system call `CrashFileIO` can fail on purpose. */
export type FaultOp =
  | 'open'
  | 'read'
  | 'write'
  | 'datasync'
  | 'truncate'
  | 'rename'
  | 'unlink'
  | 'readdir'
  | 'fsyncDir';

interface Inode {
  data: Uint8Array;
  durable: Uint8Array;
}
type Pending =
  | { kind: 'write'; inode: Inode; position: number; bytes: Uint8Array }
  | { kind: 'truncate'; inode: Inode; length: number }
  | { kind: 'link'; dir: string; path: string; inode: Inode | null; rename: boolean };

function ioError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

function applyWrite(data: Uint8Array, position: number, bytes: Uint8Array): Uint8Array {
  const end = position + bytes.byteLength;
  const out = end > data.byteLength ? new Uint8Array(end) : data;
  if (out !== data) out.set(data);
  out.set(bytes, position);
  return out;
}

function applyTruncate(data: Uint8Array, length: number): Uint8Array {
  if (length <= data.byteLength) return data.slice(0, length);
  const out = new Uint8Array(length);
  out.set(data);
  return out;
}

/**
 * An in-memory file system for crash tests: written data stays in a volatile layer until the file
 * is `datasync`ed; creates, renames and unlinks stay volatile until their directory is fsynced.
 * `crashAfter` makes every call after the first `n` mutating calls fail (the process "died");
 * `crash(variant)` then returns the file system a rebooted machine would find. `faults` injects
 * errors (EIO, ENOSPC, EACCES…) into chosen calls.
 */
export class CrashFileIO implements FileIO {
  /** Fresh per instance: locks left by a crashed "process" are stale after `crash()`. */
  readonly incarnation = randomUUID();
  /** Mutating calls made so far (the unit of `crashAfter`). */
  mutations = 0;
  /** After this many mutating calls every call fails with `ECRASHED` (`Infinity`: never). */
  crashAfter = Number.POSITIVE_INFINITY;
  /** Returns an error to throw instead of doing `op` on `path`, or `undefined` to proceed. */
  faults: ((op: FaultOp, path: string) => Error | undefined) | null = null;

  #names = new Map<string, Inode>();
  #durableNames = new Map<string, Inode>();
  #dirs = new Set<string>();
  #pending: Pending[] = [];

  /** Whether the simulated process has died (`crashAfter` reached). */
  get crashed(): boolean {
    return this.mutations > this.crashAfter;
  }

  #enter(op: FaultOp, path: string, mutating: boolean): void {
    if (this.crashed) throw ioError('ECRASHED', `${op} ${path} after the crash point`);
    if (mutating) {
      this.mutations++;
      if (this.crashed) throw ioError('ECRASHED', `${op} ${path} at the crash point`);
    }
    const f = this.faults?.(op, path);
    if (f !== undefined) throw f;
  }

  #link(path: string, inode: Inode | null, rename: boolean): void {
    if (inode === null) this.#names.delete(path);
    else this.#names.set(path, inode);
    this.#pending.push({ kind: 'link', dir: dirname(path), path, inode, rename });
  }

  /** Opens a file. */
  async open(p: string, mode: OpenMode): Promise<FileHandleIO> {
    const path = resolve(p);
    const creating = mode === 'create' || mode === 'createExclusive' || mode === 'createTruncate';
    this.#enter('open', path, creating);
    if (!this.#dirs.has(dirname(path))) throw ioError('ENOENT', `no directory ${dirname(path)}`);
    let inode = this.#names.get(path);
    if (inode !== undefined && mode === 'createExclusive') throw ioError('EEXIST', path);
    if (inode === undefined) {
      if (!creating) throw ioError('ENOENT', path);
      inode = { data: new Uint8Array(0), durable: new Uint8Array(0) };
      this.#link(path, inode, false);
    } else if (mode === 'createTruncate' && inode.data.byteLength > 0) {
      inode.data = new Uint8Array(0);
      this.#pending.push({ kind: 'truncate', inode, length: 0 });
    }
    return this.#handle(path, inode);
  }

  #handle(path: string, inode: Inode): FileHandleIO {
    let closed = false;
    const live = () => {
      if (closed) throw ioError('EBADF', `${path} is closed`);
    };
    const handle: FileHandleIO = {
      read: async (buf, offset, length, position) => {
        this.#enter('read', path, false);
        live();
        const src = inode.data.subarray(Math.min(position, inode.data.byteLength), position + length);
        buf.set(src, offset);
        return src.byteLength;
      },
      write: async (buf, position) => {
        this.#enter('write', path, true);
        live();
        const bytes = buf.slice();
        inode.data = applyWrite(inode.data, position, bytes);
        this.#pending.push({ kind: 'write', inode, position, bytes });
      },
      writev: async (bufs, position) => {
        this.#enter('write', path, true);
        live();
        const bytes = Buffer.concat(bufs as Uint8Array[]);
        const copy = new Uint8Array(bytes.byteLength);
        copy.set(bytes);
        inode.data = applyWrite(inode.data, position, copy);
        this.#pending.push({ kind: 'write', inode, position, bytes: copy });
      },
      datasync: async () => {
        this.#enter('datasync', path, true);
        live();
        this.#pending = this.#pending.filter((op) => {
          if (op.kind === 'link' || op.inode !== inode) return true;
          // In place when it does not grow: no one else holds `durable` (crash() and plant() copy),
          // so a sync costs what it syncs, not the file's size (preallocated files are long).
          inode.durable =
            op.kind === 'write'
              ? applyWrite(inode.durable, op.position, op.bytes)
              : applyTruncate(inode.durable, op.length);
          return false;
        });
      },
      truncate: async (length) => {
        this.#enter('truncate', path, true);
        live();
        inode.data = applyTruncate(inode.data, length);
        this.#pending.push({ kind: 'truncate', inode, length });
      },
      size: async () => {
        live();
        return inode.data.byteLength;
      },
      close: async () => {
        closed = true;
      },
      // As `O_DSYNC` behaves: the write, then its sync (a crash in between loses or tears it).
      writeDurable: async (bufs, position) => {
        await handle.writev(bufs, position);
        await handle.datasync();
      },
    };
    return handle;
  }

  /** Renames a file (volatile until `fsyncDir`). */
  async rename(from: string, to: string): Promise<void> {
    const a = resolve(from);
    const b = resolve(to);
    this.#enter('rename', a, true);
    const inode = this.#names.get(a);
    if (inode === undefined) throw ioError('ENOENT', a);
    this.#link(b, inode, true);
    this.#link(a, null, true);
  }

  /** Removes a file (volatile until `fsyncDir`). */
  async unlink(p: string): Promise<void> {
    const path = resolve(p);
    this.#enter('unlink', path, true);
    if (!this.#names.has(path)) throw ioError('ENOENT', path);
    this.#link(path, null, false);
  }

  /** Lists a directory. */
  async readdir(d: string): Promise<string[]> {
    const dir = resolve(d);
    this.#enter('readdir', dir, false);
    if (!this.#dirs.has(dir)) {
      if (this.#names.has(dir)) throw ioError('ENOTDIR', dir);
      throw ioError('ENOENT', dir);
    }
    const out: string[] = [];
    for (const p of this.#names.keys()) if (dirname(p) === dir) out.push(basename(p));
    return out.sort();
  }

  /** Creates a directory (durable at once; directories are not the subject of these tests). */
  async mkdir(d: string): Promise<void> {
    let dir = resolve(d);
    this.#enter('open', dir, false);
    while (!this.#dirs.has(dir)) {
      this.#dirs.add(dir);
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }

  /** Makes the directory's pending creates, renames and unlinks durable. */
  async fsyncDir(d: string): Promise<void> {
    const dir = resolve(d);
    this.#enter('fsyncDir', dir, true);
    this.#pending = this.#pending.filter((op) => {
      if (op.kind !== 'link' || op.dir !== dir) return true;
      if (op.inode === null) this.#durableNames.delete(op.path);
      else this.#durableNames.set(op.path, op.inode);
      return false;
    });
  }

  /** Our own pid is alive; any other pid is reported dead unless listed in `alivePids`. */
  processAlive(pid: number): boolean {
    return pid === process.pid || this.alivePids.has(pid);
  }

  /** Pids `processAlive` reports as alive (to simulate another process holding a lock). */
  readonly alivePids = new Set<number>();

  /** Unsynced operations right now. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Sets a file's content directly and durably (to plant corruption or foreign files in tests). */
  plant(p: string, data: Uint8Array): void {
    const path = resolve(p);
    this.#dirs.add(dirname(path));
    const inode = { data: data.slice(), durable: data.slice() };
    this.#names.set(path, inode);
    this.#durableNames.set(path, inode);
  }

  /** A file's current content, or `undefined`. */
  peek(p: string): Uint8Array | undefined {
    return this.#names.get(resolve(p))?.data;
  }

  /** The file system found after a crash of the given variant: everything on it is durable. */
  crash(variant: CrashVariant): CrashFileIO {
    let ops = this.#pending;
    if (variant === 'loseUnsynced') ops = [];
    else if (variant === 'loseRenames') ops = ops.filter((op) => !(op.kind === 'link' && op.rename));
    else if (variant === 'tearLastWrite') {
      let last = -1;
      ops.forEach((op, i) => {
        if (op.kind === 'write' && op.bytes.byteLength > 1) last = i;
      });
      if (last < 0) ops = [...ops];
      else {
        const w = ops[last] as Extract<Pending, { kind: 'write' }>;
        ops = [
          ...ops.slice(0, last),
          { ...w, bytes: w.bytes.subarray(0, Math.floor(w.bytes.byteLength / 2)) },
        ];
      }
    } else ops = ops.slice(0, variant.keepPrefix);
    const contents = new Map<Inode, Uint8Array>();
    const content = (i: Inode) => contents.get(i) ?? i.durable;
    const names = new Map(this.#durableNames);
    for (const op of ops) {
      if (op.kind === 'write')
        contents.set(op.inode, applyWrite(content(op.inode).slice(), op.position, op.bytes));
      else if (op.kind === 'truncate') contents.set(op.inode, applyTruncate(content(op.inode), op.length));
      else if (op.inode === null) names.delete(op.path);
      else names.set(op.path, op.inode);
    }
    const next = new CrashFileIO();
    for (const d of this.#dirs) next.#dirs.add(d);
    for (const [path, inode] of names) next.plant(path, content(inode));
    for (const pid of this.alivePids) next.alivePids.add(pid);
    return next;
  }
}
