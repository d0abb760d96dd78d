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

/** A write waiting for its entry to be applied. */
interface PendingWrite<R> {
  logId: LogId | null;
  resolve(r: ClientWriteResponse<R>): void;
  reject(e: Error): void;
}

/** A proposal queued for the next loop turn; once appended, it is its own pending write. */
interface Proposal<R> extends PendingWrite<R> {
  readonly payload: EntryPayload;
  /**
   * A fire-and-forget write (`clientWriteFf`): told its log id once the leader appended it. It waits
   * for its apply only when `resolve` reports the outcome (not `unset`).
   */
  readonly accepted: ((logId: LogId) => void) | undefined;
}

const unset = (): void => {};
/** The proposal {@link capture} fills in: set right before each `new Promise(capture)`. */
let capturing: PendingWrite<unknown> | null = null;
/** The executor of every proposal's promise (runs synchronously inside `new Promise`). */
function capture(resolve: (r: never) => void, reject: (e: Error) => void): void {
  const q = capturing as PendingWrite<unknown>;
  capturing = null;
  q.resolve = resolve;
  q.reject = reject;
}

/** The client writes of one node (see the file comment). */
export class ClientWrites<D, R> {
  readonly #p: CoreParts;
  readonly #codec: Codec<D>;
  readonly #leadership: Leadership;
  #proposals: Proposal<R>[] = [];
  /**
   * Proposals appended by this leader, in log order (from `#head` on): a queue, not a map, so a write
   * costs the same with 4,096 others pending as with one (a large `Map` under churn costs cache
   * misses and rehashes per write).
   */
  #appended: PendingWrite<R>[] = [];
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
    const pending = this.#appended.length - this.#head + this.#byIndex.size;
    if (pending + this.#proposals.length + n > this.#p.config.maxPendingWrites) {
      return new OverloadedError();
    }
    return null;
  }

  #queue(payload: EntryPayload): Promise<ClientWriteResponse<R>> {
    // The first proposal of a batch queues its flush; later ones join the batch (the loop also
    // flushes what is queued when it runs dry), so a write costs no loop item of its own.
    if (this.#proposals.length === 0) this.#p.loop.enqueue(this.#flushItem);
    const q: Proposal<R> = { payload, logId: null, resolve: unset, reject: unset, accepted: undefined };
    // One shared executor, not a closure per write: it fills in the proposal named just before.
    capturing = q as Proposal<unknown>;
    const promise = new Promise<ClientWriteResponse<R>>(capture);
    this.#proposals.push(q);
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
      if (this.#proposals.length === 0) this.#p.loop.enqueue(this.#flushItem);
      const q: Proposal<R> = {
        payload,
        logId: null,
        resolve: onOutcome ?? unset,
        reject: (e) => (q.logId === null ? refuse(e) : onOutcome?.(e)),
        accepted: accept,
      };
      this.#proposals.push(q);
    });
  }

  readonly #flushItem = (): void => this.flush();

  /** Whether proposals wait for the next batch. */
  get hasQueued(): boolean {
    return this.#proposals.length > 0;
  }

  /** Hands every queued proposal to the engine as one batch (one `append`). */
  flush(): void {
    const batch = this.#proposals;
    this.#proposals = [];
    if (batch.length === 0) return;
    if (!this.#leadership.takesWrites()) {
      const err = this.#leadership.forwardError();
      for (const q of batch) q.reject(err);
      return;
    }
    const payloads = new Array<EntryPayload>(batch.length);
    for (let i = 0; i < batch.length; i++) payloads[i] = (batch[i] as Proposal<R>).payload;
    let ids: LogId[];
    try {
      ids = this.#p.engine.leaderAppend(payloads, this.#p.clock.now());
    } catch (err) {
      // A refused batch fails its writes (nothing was appended); only an engine panic stops the node.
      if (err instanceof PanickedError || !(err instanceof Error)) throw err;
      for (const q of batch) q.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const q = batch[i] as Proposal<R>;
      const logId = ids[i] as LogId;
      q.logId = logId;
      if (q.accepted !== undefined) {
        q.accepted(logId);
        if (q.resolve === unset) continue; // nobody waits for its outcome
      }
      const tail = this.#appended[this.#appended.length - 1];
      if (tail === undefined || (tail.logId as LogId).index < logId.index) this.#appended.push(q);
      else this.#byIndex.set(logId.index, q); // never expected: a leader appends after its last
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

  /** Answers the writes of applied entries: their response, or a forward if another entry took the slot. */
  onApplied(entries: AppliedEntry<R>[]): void {
    const appended = this.#appended;
    for (const e of entries) {
      const index = e.logId.index;
      // Proposals whose entries were never reported applied (a snapshot covered them): as before
      // this queue, they wait by index.
      for (let w = appended[this.#head]; w !== undefined && (w.logId as LogId).index < index; ) {
        this.#byIndex.set((w.logId as LogId).index, w);
        w = appended[++this.#head];
      }
      const head = appended[this.#head];
      if (head !== undefined && (head.logId as LogId).index === index) {
        appended[this.#head++] = undefined as unknown as PendingWrite<R>;
        this.#answer(head, e);
      }
      if (this.#byIndex.size > 0) {
        const w = this.#byIndex.get(index);
        if (w !== undefined) {
          this.#byIndex.delete(index);
          this.#answer(w, e);
        }
      }
    }
    this.#compact();
  }

  #answer(w: PendingWrite<R>, e: AppliedEntry<R>): void {
    if (w.logId !== null && logIdEquals(w.logId, e.logId))
      w.resolve({ logId: e.logId, response: e.response as R });
    else w.reject(new ForwardToLeaderError(this.#p.engine.currentLeader(), this.#leadership.leaderNode()));
  }

  /** Drops the answered front of the queue once it is most of it. */
  #compact(): void {
    const head = this.#head;
    if (head === this.#appended.length) {
      this.#appended = [];
      this.#head = 0;
    } else if (head > 1024 && head * 2 > this.#appended.length) {
      this.#appended = this.#appended.slice(head);
      this.#head = 0;
    }
  }

  /** Writes proposed by this leader that are not committed have an unknown fate now. */
  onStepDown(): void {
    const committed = this.#p.engine.committed();
    const unknown = (w: PendingWrite<R>) =>
      w.reject(new OutcomeUnknownError(w.logId, 'leadership was lost before the write was known committed'));
    // Committed writes will be applied; the queue is in log order, so the rest is its tail.
    let cut = this.#appended.length;
    while (cut > this.#head) {
      const w = this.#appended[cut - 1] as PendingWrite<R>;
      if (committed !== null && (w.logId as LogId).index <= committed.index) break;
      cut--;
    }
    const lost = this.#appended.slice(cut);
    this.#appended.length = cut;
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
    const all = [...this.#appended.slice(this.#head), ...this.#byIndex.values()];
    this.#appended = [];
    this.#head = 0;
    this.#byIndex.clear();
    for (const w of all)
      w.reject(new OutcomeUnknownError(w.logId, `the node stopped: ${err.message}`, { cause: err }));
    for (const q of this.#proposals) q.reject(stoppedAs); // never appended
    this.#proposals = [];
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
