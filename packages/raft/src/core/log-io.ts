/**
 * Log I/O: the storage chain (vote, appends, truncations, purges, the commit index) and the watches
 * that publish this node's I/O progress to the replication streams.
 *
 * Owns: the order of storage writes (each issued after the previous one resolved), reporting their
 * completions to the engine, and publishing the engine's I/O progress and commit index as the
 * `ioAccepted`/`ioSubmitted`/`committed` watches. Must never: keep its own copy of I/O progress (the
 * engine's `IoProgress` is the one source; the watches only publish it), issue a write after a
 * failed one (a storage error is fatal), decide what to write (the engine's commands do), or answer
 * a caller (the core's postponed answers do, once told).
 */
import type { Command, IoMark } from '@flotilla/engine';
import { type IoPosition, Watch } from '@flotilla/replication';
import {
  isFatalError,
  type LogId,
  logIdEquals,
  type RaftLogStorage,
  StorageError,
  voteEquals,
} from '@flotilla/types';
import type { CoreParts } from './parts.ts';

type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

/** The kinds of storage write, as a failure names them. */
type WriteOp = 'vote' | 'write' | 'truncate' | 'purge';

/** The log I/O of one node (see the file comment). */
export class LogIo {
  readonly #p: CoreParts;
  readonly #store: RaftLogStorage;
  /** Called inside the loop after every I/O completion reported to the engine. */
  readonly #onProgress: () => void;
  #chain: Promise<void> = Promise.resolve();
  /** The engine's accepted I/O (published before the write is handed to storage). */
  readonly ioAccepted: Watch<IoPosition>;
  /** The engine's submitted I/O: entries up to its `logId` are readable. */
  readonly ioSubmitted: Watch<IoPosition>;
  /** The engine's commit index, which the streams send. */
  readonly committed: Watch<LogId | null>;

  constructor(parts: CoreParts, store: RaftLogStorage, onProgress: () => void) {
    this.#p = parts;
    this.#store = store;
    this.#onProgress = onProgress;
    const { accepted, submitted } = parts.engine.ioProgress();
    this.ioAccepted = new Watch<IoPosition>(positionOf(accepted), positionEquals);
    this.ioSubmitted = new Watch<IoPosition>(positionOf(submitted), positionEquals);
    this.committed = new Watch<LogId | null>(parts.engine.committed(), logIdEquals);
  }

  /**
   * Publishes the engine's I/O progress and commit index. Runs after every batch of commands (the
   * writes it issued are accepted; a stream sees the change before any of them reaches storage: it
   * only runs between loop turns) and after every completion (more entries readable).
   */
  publish(): void {
    const engine = this.#p.engine;
    const { accepted, submitted } = engine.ioProgress();
    this.ioAccepted.set(positionOf(accepted));
    this.ioSubmitted.set(positionOf(submitted));
    this.committed.set(engine.committed());
  }

  /** Settles once every storage write issued so far resolved (never rejects). */
  get idle(): Promise<void> {
    return this.#chain.catch(() => {});
  }

  /** Resolves once every write issued so far resolved: entries appended so far are readable. */
  get written(): Promise<void> {
    return this.#chain;
  }

  saveVote(cmd: CommandOf<'saveVote'>): void {
    const { ioId, vote } = cmd;
    this.#write('vote', async () => {
      await this.#store.saveVote(vote);
      this.#p.loop.enqueue(() => this.#completed(ioId, true));
    });
  }

  appendEntries(cmd: CommandOf<'appendEntries'>): void {
    const { ioId, entries } = cmd;
    const loop = this.#p.loop;
    this.#write('write', async () => {
      await this.#store.append(entries, (err) => {
        if (err) loop.fail(new StorageError('flush', err.message, { cause: err }));
        else loop.enqueue(() => this.#completed(ioId, true));
      });
      // Readable now; durable only once the store's flush callback said so.
      loop.enqueue(() => this.#completed(ioId, false));
    });
  }

  truncateLog(cmd: CommandOf<'truncateLog'>): void {
    const { ioId, since } = cmd;
    this.#write('truncate', async () => {
      await this.#store.truncate(since);
      this.#p.loop.enqueue(() => this.#completed(ioId, true));
    });
  }

  /**
   * Purges up to `cmd.upto`. A purge issued with a snapshot install (`install`) removes entries only
   * the snapshot holds: it must not become durable before the state machine installed it (a crash
   * in between loses those entries).
   */
  purgeLog(cmd: CommandOf<'purgeLog'>, install: Promise<void> | null): void {
    const { ioId, upto } = cmd;
    this.#write('purge', async () => {
      if (install !== null) await install;
      await this.#store.purge(upto);
      this.#p.loop.enqueue(() => this.#completed(ioId, true));
    });
  }

  /**
   * Queues the (advisory) save of the new commit index, if configured. Returns a promise
   * that resolves once the writes issued before this one resolved, i.e. once the committed entries
   * are readable (an append of the same batch may still be on the chain); it does not wait for the
   * commit index save (with a store that saves it durably it would put an fsync before every apply).
   */
  saveCommitted(committed: LogId): Promise<void> {
    const readable = this.#chain;
    const store = this.#store;
    // No bound function per call when the store does not save it (or saving is off).
    if (this.#p.config.saveCommitted && store.saveCommitted !== undefined)
      this.#write('write', async () => store.saveCommitted?.(committed));
    return readable;
  }

  /** Serializes storage writes: each is issued after the previous one resolved. */
  #write(op: WriteOp, fn: () => Promise<void>): void {
    const loop = this.#p.loop;
    const fail = this.#failOf[op];
    // A plain reaction, not an async wrapper: one promise and one microtask fewer per write.
    this.#chain = this.#chain.then(() => {
      if (loop.stopped) return undefined;
      try {
        return fn().catch(fail);
      } catch (err) {
        fail(err);
        return undefined;
      }
    });
  }

  /** Per kind of write: stop at once, no later write in the chain may run after a failed one. */
  readonly #failOf: Record<WriteOp, (err: unknown) => void> = {
    vote: (err) => this.#fail('vote', err),
    write: (err) => this.#fail('write', err),
    truncate: (err) => this.#fail('truncate', err),
    purge: (err) => this.#fail('purge', err),
  };

  #fail(op: WriteOp, err: unknown): void {
    this.#p.loop.fail(isFatalError(err) ? (err as Error) : new StorageError(op, String(err), { cause: err }));
  }

  /** Reports an I/O completion to the engine (`flushed`: also durable). */
  #completed(ioId: number, flushed: boolean): void {
    const engine = this.#p.engine;
    const now = this.#p.clock.now();
    engine.onLocalIo({ type: 'submitted', ioId }, now);
    if (flushed) engine.onLocalIo({ type: 'flushed', ioId }, now);
    this.publish();
    this.#onProgress();
  }
}

function positionOf(mark: IoMark): IoPosition {
  return { vote: mark.vote, logId: mark.lastLogId };
}

function positionEquals(a: IoPosition, b: IoPosition): boolean {
  return voteEquals(a.vote, b.vote) && logIdEquals(a.logId, b.logId);
}
