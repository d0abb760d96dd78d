import type { FileIO } from '../src/file-io.ts';

/**
 * Wraps a `FileIO` so tests can hold every `datasync` (nothing becomes durable, no flush callback
 * runs) and release them later.
 */
export class GatedIO {
  readonly io: FileIO;
  #gate: Promise<void> | null = null;
  #open: (() => void) | null = null;

  constructor(inner: FileIO) {
    const wait = async () => {
      while (this.#gate !== null) await this.#gate;
    };
    this.io = {
      incarnation: inner.incarnation,
      open: async (path, mode) => {
        const h = await inner.open(path, mode);
        return {
          read: (b, o, l, p) => h.read(b, o, l, p),
          write: (b, p) => h.write(b, p),
          writev: (b, p) => h.writev(b, p),
          datasync: async () => {
            await wait();
            await h.datasync();
          },
          truncate: (l) => h.truncate(l),
          size: () => h.size(),
          close: () => h.close(),
        };
      },
      rename: (a, b) => inner.rename(a, b),
      unlink: (p) => inner.unlink(p),
      readdir: (d) => inner.readdir(d),
      mkdir: (d) => inner.mkdir(d),
      fsyncDir: async (d) => {
        await wait();
        await inner.fsyncDir(d);
      },
      processAlive: (pid) => inner.processAlive(pid),
    };
  }

  /** Holds every sync from now on. */
  hold(): void {
    if (this.#gate !== null) return;
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  /** Lets held syncs proceed. */
  release(): void {
    const open = this.#open;
    this.#gate = null;
    this.#open = null;
    open?.();
  }
}
