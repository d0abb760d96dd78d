/**
 * The state-machine driver: hands the engine's state-machine commands to the worker (applies,
 * snapshot builds, installs of received snapshots) and answers `trigger.snapshot` callers.
 *
 * Owns: the worker, the received snapshots' data until their install starts, the install gate a
 * purge waits for, and the snapshot waiters. Must never: run state-machine code on the core loop
 * (the worker does), discard a received snapshot's data while an install reads it, or tell the
 * engine anything before the worker reported it.
 */
import type { Command } from '@flotilla/engine';
import {
  type Codec,
  compareLogId,
  type LogId,
  type RaftLogStorage,
  type RaftStateMachine,
  type SnapshotData,
  type SnapshotMeta,
  type StoppedError,
} from '@flotilla/types';
import { type AppliedEntry, StateMachineWorker } from '../sm-worker.ts';
import type { CoreParts } from './parts.ts';

type StateMachineCommand = Extract<Command, { type: 'stateMachine' }>;

/** The state-machine side of one node (see the file comment). */
export class StateMachineDriver<D, R> {
  readonly #p: CoreParts;
  readonly #worker: StateMachineWorker<D, R>;
  /** Received snapshots handed to the engine, by id: their data, read back from the receiver's sink. */
  readonly #receivedData = new Map<string, SnapshotData>();
  /** The install reading each received snapshot's data, settled when it ended. */
  readonly #installOf = new WeakMap<SnapshotData, Promise<void>>();
  /** Install commands already started (a batch starts its installs before its other commands). */
  readonly #startedInstalls = new WeakSet<Command>();
  /** Settles when the latest snapshot install handed to the worker finished (`null`: none running). */
  #installing: Promise<void> | null = null;
  /** What the last apply commanded waits for before it is handed to the worker. */
  #lastReadable: Promise<void> = Promise.resolve();
  /** `trigger.snapshot` calls: each waits for a snapshot covering what was applied when it asked. */
  #snapshotWaiters: { atLeast: LogId | null; resolve(l: LogId | null): void; reject(e: Error): void }[] = [];

  constructor(
    parts: CoreParts,
    opts: {
      stateMachine: RaftStateMachine<D, R>;
      store: RaftLogStorage;
      codec: Codec<D>;
      lastApplied: LogId | null;
      /** Called inside the loop once entries were applied. */
      onApplied(last: LogId, entries: AppliedEntry<R>[]): void;
      /** Called inside the loop once the engine heard of a built snapshot. */
      onSnapshotBuilt(): void;
    },
  ) {
    this.#p = parts;
    const loop = parts.loop;
    this.#worker = new StateMachineWorker<D, R>({
      stateMachine: opts.stateMachine,
      reader: opts.store.reader(),
      codec: opts.codec,
      lastApplied: opts.lastApplied,
      events: {
        applied: (last, entries) => loop.enqueue(() => opts.onApplied(last, entries)),
        snapshotBuilt: (meta, err) =>
          loop.enqueue(() => {
            if (this.#onSnapshotBuilt(meta, err)) opts.onSnapshotBuilt();
          }),
        snapshotInstalled: () => loop.enqueue(() => {}),
        fatal: (err) => loop.enqueue(() => loop.fail(err)),
      },
    });
  }

  /**
   * What the state machine holds, for metrics. The engine counts a received snapshot applied once it hands it over, before the state
   * machine installed it; a reader waiting for an applied index must find the state there.
   */
  get appliedForMetrics(): LogId | null {
    return this.#worker.applied;
  }

  /** Settles when the install handed to the worker last finished; `null` if none is running. */
  get installing(): Promise<void> | null {
    return this.#installing;
  }

  /** Applies `(prev, committed]` once `readable` resolved (the entries are on the log by then). */
  apply(prev: LogId | null, committed: LogId, readable: Promise<void>): void {
    void readable.then(() => {
      if (!this.#p.loop.stopped) this.#worker.apply(prev, committed);
    });
    this.#lastReadable = readable;
  }

  /** Keeps a received snapshot's data for the install the engine will command (inside the loop). */
  received(meta: SnapshotMeta, data: SnapshotData): void {
    this.#receivedData.set(meta.snapshotId, data);
  }

  /** Forgets a received snapshot's data the engine did not take. */
  forget(meta: SnapshotMeta): void {
    this.#receivedData.delete(meta.snapshotId);
  }

  /** Settles once the install reading `data` ended (at once if none did). */
  installReading(data: SnapshotData): Promise<void> {
    return this.#installOf.get(data) ?? Promise.resolve();
  }

  /** Starts the batch's snapshot installs, before its other commands (so its purge can wait for them). */
  startInstalls(cmds: readonly Command[]): void {
    for (const cmd of cmds) {
      if (cmd.type === 'stateMachine' && cmd.command.type === 'installSnapshot') this.#startInstall(cmd);
    }
  }

  /** Runs a `stateMachine` command. */
  run(cmd: StateMachineCommand): void {
    if (cmd.command.type === 'buildSnapshot') this.#worker.buildSnapshot();
    else if (!this.#startedInstalls.has(cmd)) this.#startInstall(cmd);
  }

  /** A snapshot covering what is applied now; rejects (never throws) once stopped. */
  triggerSnapshot(): Promise<LogId | null> {
    const loop = this.#p.loop;
    if (loop.stoppedAs) return Promise.reject(loop.stoppedAs);
    return new Promise((resolve, reject) => {
      // Registered at once, so a stop before the loop runs the build still settles it.
      this.#snapshotWaiters.push({ atLeast: this.#p.engine.applied(), resolve, reject });
      loop.enqueue(() => this.#worker.buildSnapshot());
    });
  }

  /**
   * Runs `fn` on the state machine once the jobs handed to the worker so far are done, with nothing
   * applied while it runs (call inside the loop, so it is ordered with the applies the engine commanded).
   */
  withStateMachine<T>(fn: (sm: RaftStateMachine<D, R>) => T | PromiseLike<T>): Promise<T> {
    // An apply waits for its entries to be readable before it reaches the worker: a reaction on the
    // same promise, registered later, runs after the one that hands the apply over.
    const run = () => this.#worker.withStateMachine(fn);
    return this.#lastReadable.then(run, run);
  }

  /** Fails the snapshot waiters (at a stop). */
  rejectWaiters(stoppedAs: StoppedError): void {
    for (const w of this.#snapshotWaiters.splice(0)) w.reject(stoppedAs);
  }

  /** Stops the worker; settles once no state-machine call runs. */
  stop(): Promise<void> {
    return this.#worker.stop();
  }

  /** Hands a received snapshot to the worker; `#installing` settles when the state machine holds it. */
  #startInstall(cmd: StateMachineCommand): void {
    const job = cmd.command;
    if (job.type !== 'installSnapshot') return;
    this.#startedInstalls.add(cmd);
    const data = this.#receivedData.get(job.meta.snapshotId) ?? iterate([]);
    this.#receivedData.delete(job.meta.snapshotId);
    const done = this.#worker.installSnapshot(job.meta, data);
    this.#installOf.set(
      data,
      done.then(
        () => {},
        () => {},
      ),
    );
    const gate = done.then(
      () => {
        if (this.#installing === gate) this.#installing = null;
      },
      (err: unknown) => {
        if (this.#installing === gate) this.#installing = null;
        throw err;
      },
    );
    // Failures are reported (fatally) by the worker; the gate only orders the purge after the install.
    gate.catch(() => {});
    this.#installing = gate;
  }

  /** Tells the engine of a built snapshot and answers the waiters it covers; `false` if the build failed. */
  #onSnapshotBuilt(meta: SnapshotMeta | null, err?: Error): boolean {
    if (meta === null) {
      const waiters = this.#snapshotWaiters.splice(0);
      this.#p.logger.warn('snapshot build failed', { err: String(err) });
      for (const w of waiters) w.reject(err ?? new Error('snapshot build failed'));
      return false;
    }
    this.#p.engine.onSnapshotBuilt(meta);
    // A build that started before a waiter asked may not cover it: that waiter waits for the next
    // build (the worker runs one after a build asked for while another ran).
    const covered = this.#snapshotWaiters.filter((w) => compareLogId(meta.lastLogId, w.atLeast) >= 0);
    this.#snapshotWaiters = this.#snapshotWaiters.filter((w) => !covered.includes(w));
    for (const w of covered) w.resolve(meta.lastLogId);
    return true;
  }
}

async function* iterate(chunks: Uint8Array[]): SnapshotData {
  for (const c of chunks) yield c;
}
