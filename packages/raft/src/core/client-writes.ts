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
/** The first capacity of the appended-writes ring (a power of two). */
const RING_START = 64;
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
  /**
   * Per queued proposal: the fire-and-forget write's acceptance callback, or `undefined`; `null`
   * while no fire-and-forget write is queued (the common batch carries no such array).
   */
  #qAccepted: (((logId: LogId) => void) | undefined)[] | null = null;
  /**
   * Proposals appended by this leader, in log order: a ring of parallel arrays (`#count` slots from
   * `#head`), not a map, so a write costs the same with 4,096 others pending as with one (a large
   * `Map` under churn costs cache misses and rehashes per write), and the slots are reused rather
   * than reallocated as writes come and go. It grows by doubling, never past `maxPendingWrites`.
   */
  #aLogId: (LogId | undefined)[] = new Array<LogId | undefined>(RING_START).fill(undefined);
  #aResolve: Resolve<R>[] = new Array<Resolve<R>>(RING_START).fill(unset);
  #aReject: Reject[] = new Array<Reject>(RING_START).fill(unset);
  #mask = RING_START - 1;
  #head = 0;
  #count = 0;
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
    const pending = this.#count + this.#byIndex.size;
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
    this.#qAccepted?.push(undefined);
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
      this.#qAccepted ??= new Array<undefined>(this.#qPayload.length - 1).fill(undefined);
      this.#qAccepted.push((logId) => {
        appended = true;
        accept(logId);
      });
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
      accepted: this.#qAccepted,
    };
    this.#qPayload = [];
    this.#qResolve = [];
    this.#qReject = [];
    this.#qAccepted = null;
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
    for (let i = 0; i < ids.length; i++) {
      const logId = ids[i] as LogId;
      const resolve = resolves[i] as Resolve<R>;
      const reject = rejects[i] as Reject;
      const accept = accepted?.[i];
      if (accept !== undefined) {
        accept(logId);
        if (resolve === unset) continue; // nobody waits for its outcome
      }
      const tail = this.#count === 0 ? undefined : this.#aLogId[(this.#head + this.#count - 1) & this.#mask];
      if (tail === undefined || tail.index < logId.index) this.#pushAppended(logId, resolve, reject);
      else this.#byIndex.set(logId.index, { logId, resolve, reject }); // never expected: a leader appends after its last
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

  #pushAppended(logId: LogId, resolve: Resolve<R>, reject: Reject): void {
    if (this.#count > this.#mask) this.#grow();
    const slot = (this.#head + this.#count++) & this.#mask;
    this.#aLogId[slot] = logId;
    this.#aResolve[slot] = resolve;
    this.#aReject[slot] = reject;
  }

  /** Doubles the ring, its slots in order from 0. */
  #grow(): void {
    const cap = (this.#mask + 1) * 2;
    const ids = new Array<LogId | undefined>(cap).fill(undefined);
    const resolves = new Array<Resolve<R>>(cap).fill(unset);
    const rejects = new Array<Reject>(cap).fill(unset);
    for (let k = 0; k < this.#count; k++) {
      const slot = (this.#head + k) & this.#mask;
      ids[k] = this.#aLogId[slot];
      resolves[k] = this.#aResolve[slot] as Resolve<R>;
      rejects[k] = this.#aReject[slot] as Reject;
    }
    this.#aLogId = ids;
    this.#aResolve = resolves;
    this.#aReject = rejects;
    this.#mask = cap - 1;
    this.#head = 0;
  }

  /** Removes the ring's slot `slot` (its head or its tail) as a record. */
  #take(slot: number): PendingWrite<R> {
    const w = {
      logId: this.#aLogId[slot] as LogId,
      resolve: this.#aResolve[slot] as Resolve<R>,
      reject: this.#aReject[slot] as Reject,
    };
    this.#aLogId[slot] = undefined;
    this.#aResolve[slot] = unset;
    this.#aReject[slot] = unset;
    return w;
  }

  /** Removes the oldest appended write. */
  #takeHead(): PendingWrite<R> {
    const w = this.#take(this.#head);
    this.#head = (this.#head + 1) & this.#mask;
    this.#count--;
    return w;
  }

  /** Removes the newest appended write. */
  #takeTail(): PendingWrite<R> {
    return this.#take((this.#head + --this.#count) & this.#mask);
  }

  /** Answers the writes of applied entries: their response, or a forward if another entry took the slot. */
  onApplied(entries: AppliedEntry<R>[]): void {
    for (const e of entries) {
      const index = e.logId.index;
      // Proposals whose entries were never reported applied (a snapshot covered them): as before
      // this queue, they wait by index.
      while (this.#count > 0 && (this.#aLogId[this.#head] as LogId).index < index) {
        const w = this.#takeHead();
        this.#byIndex.set((w.logId as LogId).index, w);
      }
      if (this.#count > 0 && (this.#aLogId[this.#head] as LogId).index === index) {
        const h = this.#head;
        const id = this.#aLogId[h] as LogId;
        const resolve = this.#aResolve[h] as Resolve<R>;
        const reject = this.#aReject[h] as Reject;
        this.#aLogId[h] = undefined;
        this.#aResolve[h] = unset;
        this.#aReject[h] = unset;
        this.#head = (h + 1) & this.#mask;
        this.#count--;
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
  }

  #answer(logId: LogId | null, resolve: Resolve<R>, reject: Reject, e: AppliedEntry<R>): void {
    if (logId !== null && logIdEquals(logId, e.logId)) resolve({ logId: e.logId, response: e.response as R });
    else reject(new ForwardToLeaderError(this.#p.engine.currentLeader(), this.#leadership.leaderNode()));
  }

  /** Writes proposed by this leader that are not committed have an unknown fate now. */
  onStepDown(): void {
    const committed = this.#p.engine.committed();
    const unknown = (w: PendingWrite<R>) =>
      w.reject(new OutcomeUnknownError(w.logId, 'leadership was lost before the write was known committed'));
    // Committed writes will be applied; the queue is in log order, so the rest is its tail.
    const lost: PendingWrite<R>[] = [];
    while (this.#count > 0) {
      const id = this.#aLogId[(this.#head + this.#count - 1) & this.#mask] as LogId;
      if (committed !== null && id.index <= committed.index) break;
      lost.push(this.#takeTail());
    }
    lost.reverse();
    for (const [index, w] of this.#byIndex) {
      if (committed !== null && index <= committed.index) continue;
      this.#byIndex.delete(index);
      unknown(w);
    }
    for (const w of lost) unknown(w);
  }

  /** At a stop: appended writes have an unknown fate, queued ones fail with the stop. */
  stop(err: Error, stoppedAs: StoppedError): void {
    const all: PendingWrite<R>[] = [];
    while (this.#count > 0) all.push(this.#takeHead());
    all.push(...this.#byIndex.values());
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
