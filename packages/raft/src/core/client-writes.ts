/**
 * Client writes: encoding, batching and the responders waiting for their entries to be applied.
 *
 * Owns: the writes queued for the next turn (one `append` per turn) and the writes appended by this
 * leader waiting for their apply. Must never: decide leadership (it asks `Leadership`), touch storage
 * or the network, or leave a write unsettled at a stop or a step-down.
 */
import type { LogId } from '@flotilla/types';
import {
  type ClientSession,
  type Codec,
  compareLogId,
  type EntryPayload,
  EntryTooLargeError,
  ForwardToLeaderError,
  InvalidRequestError,
  logIdEquals,
  OutcomeUnknownError,
  OverloadedError,
  PanickedError,
  type StoppedError,
} from '@flotilla/types';
import type { ClientWriteResponse, WriteOptions } from '../api.ts';
import type { AppliedEntry } from '../sm-worker.ts';
import type { Leadership } from './leadership.ts';
import type { CoreParts } from './parts.ts';

/** A write waiting for its entry to be applied (off the hot path: by index, or when settling all). */
interface PendingWrite<R> {
  logId: LogId | null;
  resolve(r: ClientWriteResponse<R>): void;
  reject(e: Error): void;
}

type Resolve<R> = (r: ClientWriteResponse<R>) => void;
type Reject = (e: Error) => void;

const unset = (): void => {};
/** What {@link capture} took from the last `new Promise(capture)` (read right after it). */
let capturedResolve: Resolve<never> = unset;
let capturedReject: Reject = unset;
/** The executor of every proposal's promise (runs synchronously inside `new Promise`). */
function capture(resolve: Resolve<never>, reject: Reject): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * The client writes of one node (see the file comment).
 *
 * A write in flight is kept as slots of parallel arrays, not as an object of its own: with thousands
 * of writes waiting for their round trip, every per-write object survives a minor GC and is copied
 * (or promoted), so the state a write keeps alive is held to its payload, its log id and the promise's
 * two resolving functions.
 */
export class ClientWrites<D, R> {
  readonly #p: CoreParts;
  readonly #codec: Codec<D>;
  readonly #leadership: Leadership;
  /** Proposals queued for the next turn's batch, as parallel arrays. */
  #qPayload: EntryPayload[] = [];
  #qResolve: Resolve<R>[] = [];
  #qReject: Reject[] = [];
  /** Per queued proposal: the fire-and-forget write's acceptance callback, or `undefined`. */
  #qAccepted: (((logId: LogId) => void) | undefined)[] = [];
  /** Whether a queued proposal is fire-and-forget (so the batch must look at `#qAccepted`). */
  #qHasFf = false;
  /**
   * Proposals appended by this leader, in log order (from `#head` on), as parallel arrays: a queue,
   * not a map, so a write costs the same with 4,096 others pending as with one (a large `Map` under
   * churn costs cache misses and rehashes per write).
   */
  #aLogId: LogId[] = [];
  #aResolve: Resolve<R>[] = [];
  #aReject: Reject[] = [];
  #head = 0;
  /** Writes waiting for an entry by index (`awaitApplied`, and proposals left out of log order). */
  readonly #byIndex = new Map<number, PendingWrite<R>>();

  constructor(parts: CoreParts, codec: Codec<D>, leadership: Leadership) {
    this.#p = parts;
    this.#codec = codec;
    this.#leadership = leadership;
  }

  /** Encodes `data` into an entry payload; `InvalidRequest` or `EntryTooLarge` if it cannot be one. */
  encode(data: D, session?: ClientSession): EntryPayload {
    let bytes: Uint8Array;
    try {
      bytes = this.#codec.encode(data);
    } catch (err) {
      if (err instanceof InvalidRequestError) throw err;
      throw new InvalidRequestError('data', `the codec cannot encode it: ${String(err)}`);
    }
    const max = this.#p.config.maxEntryBytes;
    if (bytes.byteLength > max) throw new EntryTooLargeError(bytes.byteLength, max);
    return session === undefined ? { type: 'normal', data: bytes } : { type: 'normal', data: bytes, session };
  }

  /** Queues `payloads` for the next turn's batch; each promise settles once applied (or failed). */
  propose(payloads: EntryPayload[]): Promise<ClientWriteResponse<R>>[] {
    const refused = this.#refusal(payloads.length);
    if (refused !== null) return payloads.map(() => Promise.reject(refused));
    return payloads.map((payload) => this.#queue(payload));
  }

  /** {@link ClientWrites.propose} of one payload (the common `clientWrite`, without the arrays). */
  proposeOne(payload: EntryPayload): Promise<ClientWriteResponse<R>> {
    const refused = this.#refusal(1);
    if (refused !== null) return Promise.reject(refused);
    return this.#queue(payload);
  }

  /** Why `n` more proposals are refused now, or `null`. */
  #refusal(n: number): Error | null {
    const stoppedAs = this.#p.loop.stoppedAs;
    if (stoppedAs) return stoppedAs;
    if (!this.#leadership.takesWrites()) return this.#leadership.forwardError();
    const pending = this.#aLogId.length - this.#head + this.#byIndex.size;
    if (pending + this.#qPayload.length + n > this.#p.config.maxPendingWrites) {
      return new OverloadedError();
    }
    return null;
  }

  #queue(payload: EntryPayload): Promise<ClientWriteResponse<R>> {
    // The first proposal of a batch queues its flush; later ones join the batch (the loop also
    // flushes what is queued when it runs dry), so a write costs no loop item of its own.
    if (this.#qPayload.length === 0) this.#p.loop.enqueue(this.#flushItem);
    // One shared executor, not a closure per write: it hands over the resolving functions.
    const promise = new Promise<ClientWriteResponse<R>>(capture);
    this.#qPayload.push(payload);
    this.#qResolve.push(capturedResolve as Resolve<R>);
    this.#qReject.push(capturedReject);
    this.#qAccepted.push(undefined);
    capturedResolve = unset;
    capturedReject = unset;
    return promise;
  }

  /**
   * Queues a fire-and-forget write: the promise resolves with its log id once this leader appended it
   * (or rejects if it was refused before that); `onOutcome`, when given, gets what `clientWrite` would
   * have resolved or rejected with after that, else the outcome is dropped.
   */
  proposeFf(
    payload: EntryPayload,
    onOutcome: ((outcome: ClientWriteResponse<R> | Error) => void) | undefined,
  ): Promise<LogId> {
    const refused = this.#refusal(1);
    if (refused !== null) return Promise.reject(refused);
    return new Promise<LogId>((accept, refuse) => {
      if (this.#qPayload.length === 0) this.#p.loop.enqueue(this.#flushItem);
      let appended = false;
      this.#qPayload.push(payload);
      this.#qResolve.push(onOutcome ?? unset);
      this.#qReject.push((e) => (appended ? onOutcome?.(e) : refuse(e)));
      this.#qAccepted.push((logId) => {
        appended = true;
        accept(logId);
      });
      this.#qHasFf = true;
    });
  }

  readonly #flushItem = (): void => this.flush();

  /** Whether proposals wait for the next batch. */
  get hasQueued(): boolean {
    return this.#qPayload.length > 0;
  }

  /** Takes the queued proposals (the queue starts over empty). */
  #takeQueued(): {
    payloads: EntryPayload[];
    resolves: Resolve<R>[];
    rejects: Reject[];
    accepted: (((logId: LogId) => void) | undefined)[] | null;
  } {
    const taken = {
      payloads: this.#qPayload,
      resolves: this.#qResolve,
      rejects: this.#qReject,
      accepted: this.#qHasFf ? this.#qAccepted : null,
    };
    this.#qPayload = [];
    this.#qResolve = [];
    this.#qReject = [];
    this.#qAccepted = [];
    this.#qHasFf = false;
    return taken;
  }

  /** Hands every queued proposal to the engine as one batch (one `append`). */
  flush(): void {
    if (this.#qPayload.length === 0) return;
    const { payloads, resolves, rejects, accepted } = this.#takeQueued();
    if (!this.#leadership.takesWrites()) {
      const err = this.#leadership.forwardError();
      for (const reject of rejects) reject(err);
      return;
    }
    let ids: LogId[];
    try {
      ids = this.#p.engine.leaderAppend(payloads, this.#p.clock.now());
    } catch (err) {
      // A refused batch fails its writes (nothing was appended); only an engine panic stops the node.
      if (err instanceof PanickedError || !(err instanceof Error)) throw err;
      for (const reject of rejects) reject(err);
      return;
    }
    const aLogId = this.#aLogId;
    const aResolve = this.#aResolve;
    const aReject = this.#aReject;
    for (let i = 0; i < ids.length; i++) {
      const logId = ids[i] as LogId;
      const resolve = resolves[i] as Resolve<R>;
      const reject = rejects[i] as Reject;
      const accept = accepted?.[i];
      if (accept !== undefined) {
        accept(logId);
        if (resolve === unset) continue; // nobody waits for its outcome
      }
      const tail = aLogId[aLogId.length - 1];
      if (tail === undefined || tail.index < logId.index) {
        aLogId.push(logId);
        aResolve.push(resolve);
        aReject.push(reject);
      } else this.#byIndex.set(logId.index, { logId, resolve, reject }); // never expected: a leader appends after its last
    }
  }

  /**
   * Waits for the entry `logId` (appended by this leader) to be applied. Registered as pending at
   * once, so a stop before the next loop turn settles it with `OutcomeUnknown` instead of losing it.
   */
  awaitApplied(logId: LogId): Promise<ClientWriteResponse<R>> {
    return new Promise((resolve, reject) => {
      const stopped = this.#p.loop.stopped;
      if (stopped !== null) {
        reject(new OutcomeUnknownError(logId, `the node stopped: ${stopped.message}`, { cause: stopped }));
        return;
      }
      const write: PendingWrite<R> = { logId, resolve, reject };
      this.#byIndex.set(logId.index, write);
      this.#p.loop.enqueue(() => {
        if (this.#byIndex.get(logId.index) !== write) return; // settled meanwhile
        if (compareLogId(this.#p.engine.applied(), logId) >= 0) {
          this.#byIndex.delete(logId.index);
          resolve({ logId, response: undefined as R });
        }
      });
    });
  }

  /** The appended write at `#head` as a record (it moves to `#byIndex` or is settled). */
  #takeHead(): PendingWrite<R> {
    const h = this.#head++;
    const w = {
      logId: this.#aLogId[h] as LogId,
      resolve: this.#aResolve[h] as Resolve<R>,
      reject: this.#aReject[h] as Reject,
    };
    this.#clearSlot(h);
    return w;
  }

  #clearSlot(h: number): void {
    this.#aLogId[h] = undefined as unknown as LogId;
    this.#aResolve[h] = unset;
    this.#aReject[h] = unset;
  }

  /** Answers the writes of applied entries: their response, or a forward if another entry took the slot. */
  onApplied(entries: AppliedEntry<R>[]): void {
    const aLogId = this.#aLogId;
    for (const e of entries) {
      const index = e.logId.index;
      // Proposals whose entries were never reported applied (a snapshot covered them): as before
      // this queue, they wait by index.
      for (let id = aLogId[this.#head]; id !== undefined && id.index < index; id = aLogId[this.#head]) {
        const w = this.#takeHead();
        this.#byIndex.set(id.index, w);
      }
      const h = this.#head;
      const id = aLogId[h];
      if (id !== undefined && id.index === index) {
        const resolve = this.#aResolve[h] as Resolve<R>;
        const reject = this.#aReject[h] as Reject;
        this.#clearSlot(h);
        this.#head = h + 1;
        this.#answer(id, resolve, reject, e);
      }
      if (this.#byIndex.size > 0) {
        const w = this.#byIndex.get(index);
        if (w !== undefined) {
          this.#byIndex.delete(index);
          this.#answer(w.logId, w.resolve, w.reject, e);
        }
      }
    }
    this.#compact();
  }

  #answer(logId: LogId | null, resolve: Resolve<R>, reject: Reject, e: AppliedEntry<R>): void {
    if (logId !== null && logIdEquals(logId, e.logId)) resolve({ logId: e.logId, response: e.response as R });
    else reject(new ForwardToLeaderError(this.#p.engine.currentLeader(), this.#leadership.leaderNode()));
  }

  /** Drops the answered front of the queue once it is most of it. */
  #compact(): void {
    const head = this.#head;
    const n = this.#aLogId.length;
    if (head === n) {
      this.#aLogId = [];
      this.#aResolve = [];
      this.#aReject = [];
      this.#head = 0;
    } else if (head > 1024 && head * 2 > n) {
      this.#aLogId = this.#aLogId.slice(head);
      this.#aResolve = this.#aResolve.slice(head);
      this.#aReject = this.#aReject.slice(head);
      this.#head = 0;
    }
  }

  /** The appended writes from slot `from` on, as records, and the queue cut there. */
  #cutAppended(from: number): PendingWrite<R>[] {
    const out: PendingWrite<R>[] = [];
    for (let i = from; i < this.#aLogId.length; i++) {
      out.push({
        logId: this.#aLogId[i] as LogId,
        resolve: this.#aResolve[i] as Resolve<R>,
        reject: this.#aReject[i] as Reject,
      });
    }
    this.#aLogId.length = from;
    this.#aResolve.length = from;
    this.#aReject.length = from;
    return out;
  }

  /** Writes proposed by this leader that are not committed have an unknown fate now. */
  onStepDown(): void {
    const committed = this.#p.engine.committed();
    const unknown = (w: PendingWrite<R>) =>
      w.reject(new OutcomeUnknownError(w.logId, 'leadership was lost before the write was known committed'));
    // Committed writes will be applied; the queue is in log order, so the rest is its tail.
    let cut = this.#aLogId.length;
    while (cut > this.#head) {
      const id = this.#aLogId[cut - 1] as LogId;
      if (committed !== null && id.index <= committed.index) break;
      cut--;
    }
    const lost = this.#cutAppended(cut);
    for (const [index, w] of this.#byIndex) {
      if (committed !== null && index <= committed.index) continue;
      this.#byIndex.delete(index);
      unknown(w);
    }
    for (const w of lost) unknown(w);
    this.#compact();
  }

  /** At a stop: appended writes have an unknown fate, queued ones fail with the stop. */
  stop(err: Error, stoppedAs: StoppedError): void {
    const all = [...this.#cutAppended(this.#head), ...this.#byIndex.values()];
    this.#aLogId = [];
    this.#aResolve = [];
    this.#aReject = [];
    this.#head = 0;
    this.#byIndex.clear();
    for (const w of all)
      w.reject(new OutcomeUnknownError(w.logId, `the node stopped: ${err.message}`, { cause: err }));
    const { rejects } = this.#takeQueued();
    for (const reject of rejects) reject(stoppedAs); // never appended
  }
}

/** Checks a write's session options; both fields or neither. */
export function sessionOf(opts: WriteOptions): ClientSession | undefined {
  const { clientId, sequence } = opts;
  if (clientId === undefined && sequence === undefined) return undefined;
  if (typeof clientId !== 'string' || clientId.length === 0) {
    throw new InvalidRequestError('clientId', 'expected a non-empty string when a sequence is given');
  }
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new InvalidRequestError('sequence', 'expected a non-negative integer when a clientId is given');
  }
  return { clientId, sequence };
}
