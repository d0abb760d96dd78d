import {
  type Entry,
  formatLogId,
  type IoFlushed,
  type LogId,
  type LogState,
  nextIndex,
  type RaftLogReader,
  type RaftLogStorage,
  StorageError,
  StorageMisuseError,
  type Vote,
} from '@flotilla/types';

/** What a memory log store holds durably; `crash()` returns it and `initial` restores it. */
export interface MemoryLogState {
  /** The saved vote. */
  vote: Vote | null;
  /** The saved committed log id. */
  committed: LogId | null;
  /** The last purged log id. */
  lastPurgedLogId: LogId | null;
  /** The entries after `lastPurgedLogId`, consecutive. */
  entries: Entry[];
}

/**
 * When appended entries become durable:
 * - `'auto'` (default): on the next microtask after `append` resolves;
 * - `'manual'`: only when {@link MemoryLogStore.flush} is called (or a `saveVote` forces it);
 * - `{ delayMs }`: after that delay, through `setTimer` (default `setTimeout`).
 */
export type MemoryFlushMode = 'auto' | 'manual' | { delayMs: number };

/** Options of {@link memoryLogStore}. */
export interface MemoryLogStoreOptions {
  /** Durable state to start from, e.g. what `crash()` returned. Copied. */
  initial?: MemoryLogState;
  /** When appends become durable. */
  flush?: MemoryFlushMode;
  /** The timer used by `{ delayMs }` flushing (inject a virtual one in simulators). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  /**
   * The most entries `limitedGetLogEntries` returns at once (default: the whole range asked for, which
   * a replication stream bounds by `maxPayloadEntries`); set it to exercise a store that returns less.
   */
  maxReadEntries?: number;
}

/** One write not yet durable: how to replay it on the durable state, and its callback if any. */
interface PendingWrite {
  replay(durable: MemoryLogState): void;
  onFlushed: IoFlushed | null;
}

/** A failure to inject into the next call of an operation. */
export type MemoryFailOp = 'append' | 'flush' | 'saveVote' | 'read' | 'truncate' | 'purge';

function copyState(s: MemoryLogState): MemoryLogState {
  return {
    vote: s.vote === null ? null : { ...s.vote },
    committed: s.committed === null ? null : { ...s.committed },
    lastPurgedLogId: s.lastPurgedLogId === null ? null : { ...s.lastPurgedLogId },
    entries: [...s.entries],
  };
}

function emptyState(): MemoryLogState {
  return { vote: null, committed: null, lastPurgedLogId: null, entries: [] };
}

function lastOf(s: MemoryLogState): LogId | null {
  return s.entries[s.entries.length - 1]?.logId ?? s.lastPurgedLogId;
}

function truncateState(s: MemoryLogState, since: number): void {
  const first = nextIndex(s.lastPurgedLogId);
  s.entries.length = Math.max(0, since - first);
}

function purgeState(s: MemoryLogState, upto: LogId): void {
  const first = nextIndex(s.lastPurgedLogId);
  s.entries.splice(0, Math.max(0, upto.index + 1 - first));
  s.lastPurgedLogId = { ...upto };
}

/** Settled once: automatic flushes are chained on it. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * An in-memory {@link @flotilla/types#RaftLogStorage} that models durability: it keeps the readable log and,
 * apart, the durable one, which a flush catches up. `crash()` returns only what is durable, so a
 * simulator can restart a node with unflushed writes lost. Failures can be injected per operation.
 */
export class MemoryLogStore implements RaftLogStorage {
  readonly #live: MemoryLogState;
  readonly #durable: MemoryLogState;
  readonly #pending: PendingWrite[] = [];
  readonly #mode: MemoryFlushMode;
  readonly #setTimer: (fn: () => void, ms: number) => unknown;
  readonly #maxRead: number;
  readonly #failures = new Map<MemoryFailOp, Error>();
  #held = false;
  #closed = false;

  /** Use {@link memoryLogStore}. */
  constructor(opts: MemoryLogStoreOptions = {}) {
    const init = opts.initial ?? emptyState();
    this.#live = copyState(init);
    this.#durable = copyState(init);
    this.#mode = opts.flush ?? 'auto';
    this.#setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#maxRead = Math.max(1, opts.maxReadEntries ?? Number.POSITIVE_INFINITY);
  }

  /** Appends not yet durable. */
  get pendingFlushes(): number {
    return this.#pending.filter((w) => w.onFlushed !== null).length;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The last purged and the last log id (after a purge past the end, both are the purged id). */
  async getLogState(): Promise<LogState> {
    this.#check('read');
    return { lastPurgedLogId: this.#live.lastPurgedLogId, lastLogId: lastOf(this.#live) };
  }

  /** The saved vote (a copy), or `null` if none was ever saved. */
  async readVote(): Promise<Vote | null> {
    this.#check('read');
    return this.#live.vote === null ? null : { ...this.#live.vote };
  }

  /** Saves the vote; it is durable, together with every earlier write, when this resolves. */
  async saveVote(vote: Vote): Promise<void> {
    this.#check('saveVote');
    this.#live.vote = { ...vote };
    this.#pending.push({ replay: (d) => (d.vote = { ...vote }), onFlushed: null });
    // Writes are ordered: a durable vote implies every earlier write is durable too.
    this.flush();
  }

  /** Appends consecutive entries, readable on resolve; `onFlushed` runs once durable (see `flush`). */
  async append(entries: readonly Entry[], onFlushed: IoFlushed): Promise<void> {
    this.#check('append');
    const next = nextIndex(lastOf(this.#live));
    const first = entries[0];
    if (first !== undefined) {
      if (first.logId.index > next) {
        throw new StorageMisuseError(
          'Hole',
          `append at ${first.logId.index} would leave a hole after ${formatLogId(lastOf(this.#live))}`,
        );
      }
      if (first.logId.index < next) {
        throw new StorageMisuseError(
          'NotConsecutive',
          `append at ${first.logId.index} overlaps the log ending at ${formatLogId(lastOf(this.#live))}; truncate first`,
        );
      }
      for (let i = 1; i < entries.length; i++) {
        if (entries[i]!.logId.index !== first.logId.index + i) {
          throw new StorageMisuseError(
            'NotConsecutive',
            `appended entries are not consecutive at position ${i}`,
          );
        }
      }
    }
    const copy = [...entries];
    this.#live.entries.push(...copy);
    this.#pending.push({ replay: (d) => d.entries.push(...copy), onFlushed });
    this.#scheduleFlush();
  }

  /** Deletes every entry with index `>= since.index`; durable, with every earlier write, on resolve. */
  async truncate(since: LogId): Promise<void> {
    this.#check('truncate');
    const last = lastOf(this.#live);
    if (since.index > nextIndex(last)) {
      throw new StorageMisuseError(
        'TruncateBeyondEnd',
        `truncate at ${formatLogId(since)} is beyond the end ${formatLogId(last)}`,
      );
    }
    if (since.index < nextIndex(this.#live.lastPurgedLogId)) {
      throw new StorageMisuseError(
        'PurgedRange',
        `truncate at ${formatLogId(since)} reaches purged entries (purged up to ${formatLogId(this.#live.lastPurgedLogId)})`,
      );
    }
    truncateState(this.#live, since.index);
    this.#pending.push({ replay: (d) => truncateState(d, since.index), onFlushed: null });
    // Durable on resolve (the contract), and writes are ordered: every earlier write becomes durable.
    this.flush();
  }

  /**
   * Deletes every entry with index `<= upto.index` and records `upto` as the last purged id. `upto`
   * may lie beyond the last entry (a snapshot install past the log): the log empties, `upto`
   * becomes the last log id too, and the next append continues at `upto.index + 1`. A purge at or
   * below the last purged id changes nothing. Durable, with every earlier write, on resolve.
   */
  async purge(upto: LogId): Promise<void> {
    this.#check('purge');
    if (upto.index <= (this.#live.lastPurgedLogId?.index ?? -1)) return;
    purgeState(this.#live, upto);
    this.#pending.push({ replay: (d) => purgeState(d, upto), onFlushed: null });
    // Durable on resolve (the contract), and writes are ordered: every earlier write becomes durable.
    this.flush();
  }

  /** Records the committed id; durable with the next flush (losing it only re-applies entries). */
  async saveCommitted(committed: LogId | null): Promise<void> {
    this.#check('append');
    this.#live.committed = committed === null ? null : { ...committed };
    this.#pending.push({ replay: (d) => (d.committed = committed), onFlushed: null });
  }

  /** The committed id last saved (it may be ahead of the durable one until the next flush). */
  async readCommitted(): Promise<LogId | null> {
    this.#check('read');
    return this.#live.committed;
  }

  /** A reader of the log: it sees every append once `append` resolved, durable or not. */
  reader(): RaftLogReader {
    return {
      tryGetLogEntries: async (start, end) => {
        this.#check('read');
        return this.#range(start, end, Number.POSITIVE_INFINITY);
      },
      limitedGetLogEntries: async (start, end) => {
        this.#check('read');
        return this.#range(start, end, this.#maxRead);
      },
      getKeyLogIds: async (first, last) => {
        this.#check('read');
        const es = this.#range(first.index, last.index + 1, Number.POSITIVE_INFINITY);
        if (es.length !== last.index - first.index + 1) {
          throw new StorageMisuseError(
            'PurgedRange',
            `getKeyLogIds(${formatLogId(first)}, ${formatLogId(last)}): entries missing from the log`,
          );
        }
        const out: LogId[] = [];
        for (let i = 0; i + 1 < es.length; i++) {
          if (es[i]!.logId.term !== es[i + 1]!.logId.term) out.push(es[i]!.logId);
        }
        out.push(es[es.length - 1]!.logId);
        return out;
      },
    };
  }

  /** Stops the store; later calls are refused with `StorageMisuseError` (`Closed`). */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /**
   * Makes the oldest `count` pending appends (default: all) durable, with every write before them,
   * and runs their callbacks in order. Returns how many callbacks ran.
   */
  flush(count = Number.POSITIVE_INFINITY): number {
    let ran = 0;
    while (this.#pending.length > 0 && ran < count) {
      const failure = this.#failures.get('flush');
      const w = this.#pending[0]!;
      if (failure !== undefined && w.onFlushed !== null) {
        this.#failures.delete('flush');
        this.#pending.shift();
        ran++;
        w.onFlushed(new StorageError('flush', failure.message, { cause: failure }));
        continue;
      }
      this.#pending.shift();
      w.replay(this.#durable);
      if (w.onFlushed !== null) {
        ran++;
        w.onFlushed();
      }
    }
    // Trailing non-callback writes (truncate, purge) stay pending until the next flush unless all
    // were asked for: a full flush makes everything durable.
    if (count === Number.POSITIVE_INFINITY) {
      for (const w of this.#pending.splice(0)) w.replay(this.#durable);
    }
    return ran;
  }

  /** Holds flushes (entries stay readable but not durable) until {@link MemoryLogStore.release}. */
  hold(): void {
    this.#held = true;
  }

  /** Ends a {@link MemoryLogStore.hold} and flushes everything held. */
  release(): void {
    this.#held = false;
    this.flush();
  }

  /** Makes the next call of `op` fail with a `StorageError` (`flush`: the next flush callback gets it). */
  failNext(op: MemoryFailOp, err: Error = new Error(`injected ${op} failure`)): void {
    this.#failures.set(op, err);
  }

  /**
   * Simulates a crash: returns a copy of the durable state only (writes not yet flushed are lost)
   * and closes this store. Pass the result as `initial` to a new store to restart.
   */
  crash(): MemoryLogState {
    this.#closed = true;
    this.#pending.length = 0;
    return copyState(this.#durable);
  }

  /** A copy of the durable state, without crashing. */
  durableState(): MemoryLogState {
    return copyState(this.#durable);
  }

  #range(start: number, end: number, limit: number): Entry[] {
    const first = nextIndex(this.#live.lastPurgedLogId);
    const from = Math.max(start, first) - first;
    const to = Math.min(end - first, this.#live.entries.length, from + limit);
    return from < to ? this.#live.entries.slice(from, to) : [];
  }

  readonly #autoFlushTask = (): void => this.#autoFlush();

  #scheduleFlush(): void {
    if (this.#held) return;
    const mode = this.#mode;
    if (mode === 'manual') return;
    // A microtask without the AsyncResource `queueMicrotask` allocates for each.
    if (mode === 'auto') void SETTLED.then(this.#autoFlushTask);
    else this.#setTimer(() => this.#autoFlush(), mode.delayMs);
  }

  #autoFlush(): void {
    if (!this.#held && !this.#closed) this.flush(1);
  }

  #check(op: MemoryFailOp): void {
    if (this.#closed) throw new StorageMisuseError('Closed', 'the log store is closed');
    if (op === 'flush') return;
    const failure = this.#failures.get(op);
    if (failure !== undefined) {
      this.#failures.delete(op);
      const kind = op === 'saveVote' ? 'vote' : op === 'append' ? 'write' : op;
      throw new StorageError(kind, failure.message, { cause: failure });
    }
  }
}

/**
 * Makes an in-memory log store.
 *
 * @example
 * ```ts
 * const store = memoryLogStore({ flush: 'manual' });
 * await store.append([blankEntry(1, 0)], (err) => {});
 * store.flush(); // the callback runs now
 * const restarted = memoryLogStore({ initial: store.crash() });
 * ```
 */
export function memoryLogStore(opts: MemoryLogStoreOptions = {}): MemoryLogStore {
  return new MemoryLogStore(opts);
}
