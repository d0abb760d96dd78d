/**
 * Snapshot reception: a whole snapshot streamed in from the leader, spooled into the state
 * machine's sink, then handed to the engine (which commands its install).
 *
 * Owns: the transfers being received (so a shutdown waits for each to discard its sink) and their
 * sinks. Must never: hand the state machine a chunk that is not a `Uint8Array`, discard a sink while
 * the install reading it runs, answer before the state machine holds the snapshot, or let a sink
 * failure stop the node (it fails this transfer only; the leader retries).
 */
import type { EngineResponse } from '@flotilla/engine';
import {
  hasErrorCode,
  InvalidRequestError,
  type RaftStateMachine,
  type SnapshotData,
  type SnapshotMeta,
  type SnapshotSink,
  StorageError,
  type Vote,
  validateSnapshotMeta,
  validateVote,
} from '@flotilla/types';
import type { CoreParts } from '../core/parts.ts';
import type { StateMachineDriver } from '../core/sm-driver.ts';

/** The snapshot transfers one node receives (see the file comment). */
export class SnapshotReceiver<D, R> {
  readonly #p: CoreParts;
  readonly #sm: RaftStateMachine<D, R>;
  readonly #driver: StateMachineDriver<D, R>;
  /** Snapshot transfers being received, settled once their sink is discarded. */
  readonly #receptions = new Set<Promise<void>>();

  constructor(parts: CoreParts, sm: RaftStateMachine<D, R>, driver: StateMachineDriver<D, R>) {
    this.#p = parts;
    this.#sm = sm;
    this.#driver = driver;
  }

  /** Settles once every transfer received so far discarded its sink. */
  async ended(): Promise<void> {
    await Promise.all([...this.#receptions]);
  }

  /**
   * Receives a snapshot and has it installed; resolves with the engine's answer once the state
   * machine holds it. A stop interrupts the transfer; a sink is discarded only once the install
   * reading from it has ended.
   */
  receive(vote: Vote, meta: SnapshotMeta, data: SnapshotData): Promise<EngineResponse> {
    const transfer = this.#receive(vote, meta, data);
    const done = transfer.then(
      () => {},
      () => {},
    );
    this.#receptions.add(done);
    void done.then(() => this.#receptions.delete(done));
    return transfer;
  }

  async #receive(vote: Vote, meta: SnapshotMeta, data: SnapshotData): Promise<EngineResponse> {
    const { loop, engine, clock } = this.#p;
    loop.ensureRunning();
    validateVote(vote, 'vote');
    if (!vote.committed)
      throw new InvalidRequestError('vote', 'a snapshot must carry a committed leader vote');
    validateSnapshotMeta(meta, 'meta');
    if (!isAsyncIterable(data)) throw new InvalidRequestError('data', 'expected an async iterable of chunks');
    const sink = await this.#sinkFor(meta);
    let received: SnapshotData | null = null;
    try {
      const it = data[Symbol.asyncIterator]();
      try {
        for (let n = 0; ; n++) {
          const next = await loop.untilStopped(it.next());
          if (next.done === true) break;
          const chunk: unknown = next.value;
          // Checked here: a bad chunk reaching the state machine would fail the install, a fatal error.
          if (!(chunk instanceof Uint8Array)) {
            throw new InvalidRequestError(`data[${n}]`, 'expected a Uint8Array chunk');
          }
          await sinkCall(() => sink.write(chunk), meta);
          loop.ensureRunning();
        }
      } finally {
        void Promise.resolve(it.return?.()).catch(() => {});
      }
      const spooled = await sinkCall(() => sink.finish(), meta);
      received = spooled;
      loop.ensureRunning();
      let res: EngineResponse;
      try {
        res = await loop.request(
          () => ({ vote, meta }),
          (r, reply: (res: EngineResponse) => void) => {
            this.#driver.received(meta, spooled);
            engine.handleInstallSnapshot(r, reply, clock.now());
          },
        );
      } finally {
        this.#driver.forget(meta);
      }
      // Answer only once the state machine holds the snapshot (the engine answers on log durability).
      const current = this.#driver.installing;
      if (current !== null) await current;
      loop.ensureRunning();
      return res;
    } finally {
      // Also on a stop or an error: never pull the data from under an install still reading it.
      if (received !== null) await this.#driver.installReading(received).catch(() => {});
      await sink.discard().catch((err: unknown) =>
        this.#p.logger.warn('discarding a received snapshot failed', {
          snapshotId: meta.snapshotId,
          err: String(err),
        }),
      );
    }
  }

  /** The state machine's sink for a received snapshot, or one in memory. */
  async #sinkFor(meta: SnapshotMeta): Promise<SnapshotSink> {
    const begin = this.#sm.beginReceivingSnapshot;
    if (begin === undefined) return memorySnapshotSink();
    return sinkCall(() => begin.call(this.#sm, meta), meta);
  }
}

/**
 * Runs a snapshot sink operation; a failure is a `StorageError` (op `snapshot`) for the transfer's
 * caller only: the leader retries later, the node keeps running.
 */
async function sinkCall<T>(op: () => Promise<T>, meta: SnapshotMeta): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (hasErrorCode(err, 'STOPPED') || hasErrorCode(err, 'STORAGE')) throw err;
    throw new StorageError('snapshot', `receiving snapshot ${meta.snapshotId}: ${String(err)}`, {
      cause: err,
    });
  }
}

/** A sink that keeps the received chunks in memory. */
function memorySnapshotSink(): SnapshotSink {
  let chunks: Uint8Array[] = [];
  return {
    write: async (chunk) => {
      chunks.push(chunk);
    },
    finish: async () => iterate(chunks),
    discard: async () => {
      chunks = [];
    },
  };
}

function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

async function* iterate(chunks: Uint8Array[]): SnapshotData {
  for (const c of chunks) yield c;
}
