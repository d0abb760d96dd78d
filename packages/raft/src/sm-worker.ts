import {
  type ApplyEntry,
  type Codec,
  compareLogId,
  type Entry,
  formatLogId,
  type LogId,
  nextIndex,
  PanickedError,
  type RaftLogReader,
  type RaftStateMachine,
  type SnapshotData,
  type SnapshotMeta,
  StoppedError,
  StorageError,
} from '@flotilla/types';

/** One applied entry and the state machine's response to it. */
export interface AppliedEntry<R> {
  /** The entry. */
  logId: LogId;
  /** The response (`undefined` for blank and membership entries). */
  response: R | undefined;
}

/** What the worker reports to the core loop. */
export interface StateMachineWorkerEvents<R> {
  /** Entries up to `last` are applied; `entries` are the responses, in order. */
  applied(last: LogId, entries: AppliedEntry<R>[]): void;
  /** A snapshot build finished (or failed with `error`). */
  snapshotBuilt(meta: SnapshotMeta | null, error?: Error): void;
  /** A received snapshot is installed. */
  snapshotInstalled(meta: SnapshotMeta): void;
  /** The state machine or the log failed: the node must stop. */
  fatal(error: Error): void;
}

type Job =
  | { type: 'apply'; prev: LogId | null; committed: LogId }
  | { type: 'build' }
  | { type: 'install'; meta: SnapshotMeta; data: SnapshotData; done: Settle }
  | { type: 'run'; run(sm: RaftStateMachine<unknown, unknown>): Promise<void>; drop(err: Error): void };

interface Settle {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Runs the state machine apart from the core loop, so applying and snapshot building never block
 * appending: jobs (apply ranges, snapshot builds, snapshot installs) run one at a time, in order.
 * Applies read committed entries in chunks and yield to the event loop between chunks, so a large
 * batch never starves heartbeats. A snapshot build captures the builder between two applies and then
 * runs concurrently with later applies.
 */
export class StateMachineWorker<D, R> {
  private readonly sm: RaftStateMachine<D, R>;
  private readonly reader: RaftLogReader;
  private readonly codec: Codec<D>;
  private readonly events: StateMachineWorkerEvents<R>;
  private readonly chunk: number;
  private readonly yieldNow: () => Promise<void>;
  /** Ends the current yield between chunks early (set while one runs). */
  private resumeFromYield: (() => void) | null = null;
  private readonly jobs: Job[] = [];
  private running = false;
  /** The running job loop, awaited by `stop` (never polled). */
  private loop: Promise<void> | null = null;
  private stopped = false;
  private lastApplied: LogId | null;
  private building: Promise<void> | null = null;
  /** A build was asked for while one ran: run another once it finishes (it covers later applies). */
  private buildAgain = false;

  constructor(opts: {
    stateMachine: RaftStateMachine<D, R>;
    reader: RaftLogReader;
    codec: Codec<D>;
    events: StateMachineWorkerEvents<R>;
    lastApplied: LogId | null;
    /** Entries per `apply` call (default 256). */
    chunk?: number;
    /** Yields to the event loop between chunks (default: `setImmediate`). */
    yieldNow?: () => Promise<void>;
  }) {
    this.sm = opts.stateMachine;
    this.reader = opts.reader;
    this.codec = opts.codec;
    this.events = opts.events;
    this.lastApplied = opts.lastApplied;
    this.chunk = opts.chunk ?? 256;
    this.yieldNow = opts.yieldNow ?? (() => new Promise((r) => setImmediate(r)));
  }

  /** What the state machine holds: the last entry applied or snapshot installed. */
  get applied(): LogId | null {
    return this.lastApplied;
  }

  /** Applies committed entries in `(prev, committed]`. */
  apply(prev: LogId | null, committed: LogId): void {
    this.push({ type: 'apply', prev, committed });
  }

  /** Builds a snapshot (captured after every apply queued so far). */
  buildSnapshot(): void {
    this.push({ type: 'build' });
  }

  /**
   * Installs a received snapshot, in order with applies. The promise settles once the state machine
   * holds the snapshot (or rejects if the install failed or the worker stopped first).
   */
  installSnapshot(meta: SnapshotMeta, data: SnapshotData): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.stopped) {
        reject(new StoppedError('the state machine worker is stopped'));
        return;
      }
      this.push({ type: 'install', meta, data, done: { resolve, reject } });
    });
  }

  /**
   * Runs `fn(stateMachine)` in order with applies, snapshot installs and build captures: after every
   * job queued before it, and nothing else runs on the state machine until `fn` (awaited when it
   * returns a promise) settled. Resolves with its result; its error rejects this call only, never the
   * worker. Rejects with `StoppedError` once the worker is stopped.
   */
  withStateMachine<T>(fn: (sm: RaftStateMachine<D, R>) => T | PromiseLike<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.stopped) {
        reject(new StoppedError('the state machine worker is stopped'));
        return;
      }
      const sm = this.sm;
      this.push({
        type: 'run',
        run: async () => {
          try {
            resolve(await fn(sm));
          } catch (err) {
            reject(err);
          }
        },
        drop: reject,
      });
    });
  }

  /** Stops after the current job; waits for it (and a running build) to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.dropJobs(new StoppedError('the state machine worker stopped'));
    if (this.loop !== null) await this.loop;
    if (this.building) await this.building;
  }

  private dropJobs(err: Error): void {
    for (const job of this.jobs.splice(0)) {
      if (job.type === 'install') job.done.reject(err);
      else if (job.type === 'run') job.drop(err);
    }
  }

  /**
   * Yields to the event loop between chunks of a large apply, so timers and I/O run; a job pushed
   * meanwhile resumes the apply at once. When promise reactions keep the microtask queue busy (an
   * in-process cluster under load never leaves it), `setImmediate` never fires, nor does any timer:
   * waiting for it only stalls a follower's applies (and its purges) while its log grows. New work
   * arriving shows the node is busy, not idle; the apply then runs one more chunk and yields again.
   */
  private yieldBetweenChunks(): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const go = () => {
        if (done) return;
        done = true;
        if (this.resumeFromYield === go) this.resumeFromYield = null;
        resolve();
      };
      this.resumeFromYield = go;
      this.yieldNow().then(go, go);
    });
  }

  private push(job: Job): void {
    if (this.stopped) return;
    this.jobs.push(job);
    // New work ends a yield between chunks: whoever pushed it got its turn of the event loop.
    this.resumeFromYield?.();
    if (!this.running) {
      this.running = true;
      this.loop = this.run();
    }
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped) {
        const job = this.jobs.shift();
        if (job === undefined) break;
        if (job.type === 'apply') await this.runApply(job.prev, job.committed);
        else if (job.type === 'build') this.runBuild();
        else if (job.type === 'run') await job.run(this.sm as RaftStateMachine<unknown, unknown>);
        else {
          try {
            await this.runInstall(job.meta, job.data);
          } catch (err) {
            job.done.reject(err instanceof Error ? err : new PanickedError(String(err)));
            throw err;
          }
          job.done.resolve();
        }
      }
    } catch (err) {
      this.stopped = true;
      const e = err instanceof Error ? err : new PanickedError(String(err));
      this.dropJobs(e);
      this.events.fatal(e);
    } finally {
      this.running = false;
      this.loop = null;
    }
  }

  private async runApply(prev: LogId | null, committed: LogId): Promise<void> {
    // Skip what a snapshot install already covered.
    let start = Math.max(nextIndex(prev), nextIndex(this.lastApplied));
    const end = committed.index + 1;
    while (start < end && !this.stopped) {
      let entries: Entry[];
      try {
        entries = await this.reader.tryGetLogEntries(start, Math.min(end, start + this.chunk));
      } catch (err) {
        throw new StorageError('read', `reading committed entries from ${start}: ${String(err)}`, {
          cause: err,
        });
      }
      if (entries.length === 0 || entries[0]?.logId.index !== start) {
        throw new PanickedError(
          `committed entry ${start} is missing from the log (apply up to ${formatLogId(committed)})`,
        );
      }
      const decoded = new Array<ApplyEntry<D>>(entries.length);
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i] as Entry;
        const p = e.payload;
        if (p.type !== 'normal') {
          decoded[i] = { logId: e.logId, payload: p };
          continue;
        }
        const data = this.codec.decode(p.data);
        decoded[i] = {
          logId: e.logId,
          payload:
            p.session === undefined ? { type: 'normal', data } : { type: 'normal', data, session: p.session },
        };
      }
      let responses: (R | undefined)[];
      try {
        responses = await this.sm.apply(decoded);
      } catch (err) {
        throw new StorageError('apply', `state machine apply failed at ${start}: ${String(err)}`, {
          cause: err,
        });
      }
      const last = entries[entries.length - 1]?.logId as LogId;
      this.lastApplied = last;
      const applied = new Array<AppliedEntry<R>>(entries.length);
      for (let i = 0; i < entries.length; i++)
        applied[i] = { logId: (entries[i] as Entry).logId, response: responses[i] };
      this.events.applied(last, applied);
      start = last.index + 1;
      if (start < end) await this.yieldBetweenChunks();
    }
  }

  private runBuild(): void {
    if (this.building) {
      // One build at a time; the running one may not cover what was applied since it started.
      this.buildAgain = true;
      return;
    }
    const builder = this.sm.snapshotBuilder();
    this.building = (async () => {
      try {
        const snap = await builder.buildSnapshot();
        this.events.snapshotBuilt(snap.meta);
      } catch (err) {
        this.events.snapshotBuilt(null, err instanceof Error ? err : new Error(String(err)));
      } finally {
        this.building = null;
        if (this.buildAgain) {
          this.buildAgain = false;
          this.push({ type: 'build' });
        }
      }
    })();
  }

  private async runInstall(meta: SnapshotMeta, data: SnapshotData): Promise<void> {
    if (compareLogId(meta.lastLogId, this.lastApplied) <= 0) {
      // Already applied past it (a stale install); nothing to replace.
      this.events.snapshotInstalled(meta);
      return;
    }
    try {
      await this.sm.installSnapshot(meta, data);
    } catch (err) {
      throw new StorageError('snapshot', `installing snapshot ${meta.snapshotId}: ${String(err)}`, {
        cause: err,
      });
    }
    this.lastApplied = meta.lastLogId;
    this.events.snapshotInstalled(meta);
  }
}
