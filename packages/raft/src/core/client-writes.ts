/**
 * Client writes: encoding, batching and the responders waiting for their entries to be applied (or,
 * for writes that resolve at commit, committed).
 *
 * Owns: the writes queued for the next turn (one `append` per turn, held back while the leader has
 * `maxUncommittedEntries` uncommitted), their leader guard, and the writes appended by this leader
 * waiting for their commit or apply. Must never: decide leadership (it asks `Leadership`), touch
 * storage or the network, or leave a write unsettled at a stop or a step-down.
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
import type {
  ClientWriteCommitted,
  ClientWriteResponse,
  LeaderVote,
  ResolveAt,
  WriteOptions,
} from '../api.ts';
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

/**
 * What a queued write needs beyond a plain `clientWrite` (kept off the common path: a batch of plain
 * writes carries no array of these).
 */
interface WriteExtra {
  /** Refuse the write unless this node's committed leader vote has this term and node. */
  expectedLeader: LeaderVote | undefined;
  /** A fire-and-forget write's acceptance: called with its log id once appended. */
  onAppended: ((logId: LogId) => void) | undefined;
  /** A write resolved at commit: called with its log id once committed. */
  onCommitted: ((r: ClientWriteCommitted) => void) | undefined;
}

/** A write resolved at commit, appended by this leader, waiting for its entry to be committed. */
interface CommitWaiter {
  logId: LogId;
  resolve(r: ClientWriteCommitted): void;
  reject(e: Error): void;
}

/** The checked leader guard and resolve stage of a write (see {@link writeModeOf}). */
export interface WriteMode {
  expectedLeader: LeaderVote | undefined;
  resolveAt: ResolveAt;
}

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
   * Per queued proposal: what it needs beyond a plain write (a leader guard, a fire-and-forget
   * acceptance, a resolve at commit), or `undefined`; `null` while no such write is queued (the
   * common batch carries no such array).
   */
  #qExtra: (WriteExtra | undefined)[] | null = null;
  /** Writes resolved at commit, appended by this leader, in log order. */
  #committing: CommitWaiter[] = [];
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
  /**
   * Whether the queued writes wait for the commit index to move (`maxUncommittedEntries`): the loop
   * does not flush them meanwhile; the next commit, a step-down or a stop does.
   */
  #held = false;

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
    const pending = this.#count + this.#byIndex.size + this.#committing.length;
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
    this.#qExtra?.push(undefined);
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
    expectedLeader: LeaderVote | undefined,
  ): Promise<LogId> {
    const refused = this.#refusal(1);
    if (refused !== null) return Promise.reject(refused);
    return new Promise<LogId>((accept, refuse) => {
      let appended = false;
      this.#queueExtra(payload, onOutcome ?? unset, (e) => (appended ? onOutcome?.(e) : refuse(e)), {
        expectedLeader,
        onAppended: (logId) => {
          appended = true;
          accept(logId);
        },
        onCommitted: undefined,
      });
    });
  }

  /**
   * Queues writes with a leader guard or resolved at commit (`mode`): each settles as
   * {@link ClientWrites.propose}'s would, or, resolved at commit, with its log id once committed.
   */
  proposeWith(
    payloads: EntryPayload[],
    mode: WriteMode,
  ): Promise<ClientWriteResponse<R> | ClientWriteCommitted>[] {
    const refused = this.#refusal(payloads.length);
    if (refused !== null) return payloads.map(() => Promise.reject(refused));
    const { expectedLeader } = mode;
    return payloads.map((payload) => {
      if (mode.resolveAt === 'commit') {
        return new Promise<ClientWriteCommitted>((resolve, reject) =>
          this.#queueExtra(payload, unset, reject, {
            expectedLeader,
            onAppended: undefined,
            onCommitted: resolve,
          }),
        );
      }
      return new Promise<ClientWriteResponse<R>>((resolve, reject) =>
        this.#queueExtra(payload, resolve, reject, {
          expectedLeader,
          onAppended: undefined,
          onCommitted: undefined,
        }),
      );
    });
  }

  #queueExtra(payload: EntryPayload, resolve: Resolve<R>, reject: Reject, extra: WriteExtra): void {
    if (this.#qPayload.length === 0) this.#p.loop.enqueue(this.#flushItem);
    this.#qExtra ??= new Array<undefined>(this.#qPayload.length).fill(undefined);
    this.#qPayload.push(payload);
    this.#qResolve.push(resolve);
    this.#qReject.push(reject);
    this.#qExtra.push(extra);
  }

  readonly #flushItem = (): void => this.flush();

  /** Whether proposals wait for the next batch (not while they wait for a commit). */
  get hasQueued(): boolean {
    return this.#qPayload.length > 0 && !this.#held;
  }

  /**
   * Whether the leader's uncommitted entries reached `maxUncommittedEntries`: the queued writes then
   * wait for the next commit (see the field's documentation).
   */
  #overUncommitted(): boolean {
    const max = this.#p.config.maxUncommittedEntries;
    if (max === null) return false;
    const engine = this.#p.engine;
    const last = engine.lastLogId()?.index ?? -1;
    const committed = engine.committed()?.index ?? -1;
    return last - committed >= max;
  }

  /** Lets held writes go: the next turn flushes them (or, off leadership, refuses them). */
  #release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#p.loop.enqueue(this.#flushItem);
  }

  /** Takes the queued proposals (the queue starts over empty). */
  #takeQueued(): Batch<R> {
    const taken = {
      payloads: this.#qPayload,
      resolves: this.#qResolve,
      rejects: this.#qReject,
      extras: this.#qExtra,
    };
    this.#qPayload = [];
    this.#qResolve = [];
    this.#qReject = [];
    this.#qExtra = null;
    return taken;
  }

  /**
   * The batch without the writes whose leader guard fails (refused with `ForwardToLeader`): this
   * leader's committed vote is not the one they expect (openraft's `with_leader`). Runs in the loop,
   * right before the append, so no other leader can come between the check and the append.
   */
  #guarded(batch: Batch<R>): Batch<R> {
    const extras = batch.extras as (WriteExtra | undefined)[];
    const vote = this.#p.engine.vote();
    let kept: Batch<R> | null = null;
    for (let i = 0; i < batch.payloads.length; i++) {
      const want = extras[i]?.expectedLeader;
      const ok =
        want === undefined || (vote.committed && vote.term === want.term && vote.nodeId === want.nodeId);
      if (!ok && kept === null) {
        kept = {
          payloads: batch.payloads.slice(0, i),
          resolves: batch.resolves.slice(0, i),
          rejects: batch.rejects.slice(0, i),
          extras: extras.slice(0, i),
        };
      }
      if (!ok) {
        const leader = this.#p.engine.currentLeader();
        (batch.rejects[i] as Reject)(
          new ForwardToLeaderError(
            leader,
            this.#leadership.leaderNode(),
            `the leader changed: the write expected the leader of term ${String(want?.term)} to be ${String(want?.nodeId)}; this node's leader vote is term ${vote.term}, ${String(vote.nodeId)}${vote.committed ? '' : ' (not committed)'}`,
          ),
        );
      } else if (kept !== null) {
        kept.payloads.push(batch.payloads[i] as EntryPayload);
        kept.resolves.push(batch.resolves[i] as Resolve<R>);
        kept.rejects.push(batch.rejects[i] as Reject);
        kept.extras?.push(extras[i]);
      }
    }
    return kept ?? batch;
  }

  /** Hands every queued proposal to the engine as one batch (one `append`). */
  flush(): void {
    if (this.#qPayload.length === 0) return;
    const leads = this.#leadership.takesWrites();
    if (leads && this.#overUncommitted()) {
      this.#held = true;
      return;
    }
    this.#held = false;
    let batch = this.#takeQueued();
    if (!leads) {
      const err = this.#leadership.forwardError();
      for (const reject of batch.rejects) reject(err);
      return;
    }
    if (batch.extras !== null) {
      batch = this.#guarded(batch);
      if (batch.payloads.length === 0) return;
    }
    const { payloads, resolves, rejects, extras } = batch;
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
      const extra = extras?.[i];
      if (extra !== undefined) {
        extra.onAppended?.(logId);
        if (extra.onCommitted !== undefined) {
          this.#committing.push({ logId, resolve: extra.onCommitted, reject });
          continue;
        }
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

  /**
   * Resolves the writes waiting for their commit up to `committed` (the engine's new commit point, in
   * the loop). A write whose index holds another entry now (never expected: this leader's entries are
   * committed before it steps down, or failed then) is refused with a forward.
   */
  onCommitted(committed: LogId): void {
    this.#release();
    const waiting = this.#committing;
    if (waiting.length === 0 || (waiting[0] as CommitWaiter).logId.index > committed.index) return;
    let n = 0;
    while (n < waiting.length && (waiting[n] as CommitWaiter).logId.index <= committed.index) n++;
    for (const w of waiting.splice(0, n)) {
      const at = this.#p.engine.logIdAt(w.logId.index);
      // Never purged in practice (it was not committed at the last commit, so not applied either); if
      // it were, a committed entry of the same leader's term is this leader's own.
      const same = at === null ? w.logId.term === committed.term : logIdEquals(at, w.logId);
      if (same) w.resolve({ logId: w.logId });
      else w.reject(new ForwardToLeaderError(this.#p.engine.currentLeader(), this.#leadership.leaderNode()));
    }
  }

  /** Writes proposed by this leader that are not committed have an unknown fate now. */
  onStepDown(): void {
    this.#release();
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
    // Writes resolved at commit: those committed were resolved when their commit was taken.
    const committing = this.#committing;
    this.#committing = [];
    for (const w of committing) {
      if (committed !== null && w.logId.index <= committed.index) {
        this.#committing.push(w); // not expected: resolved at the commit command of the same turn
        continue;
      }
      w.reject(new OutcomeUnknownError(w.logId, 'leadership was lost before the write was known committed'));
    }
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
    for (const w of this.#committing.splice(0))
      all.push({ logId: w.logId, resolve: unset, reject: w.reject });
    for (const w of all)
      w.reject(new OutcomeUnknownError(w.logId, `the node stopped: ${err.message}`, { cause: err }));
    const { rejects } = this.#takeQueued();
    for (const reject of rejects) reject(stoppedAs); // never appended
  }
}

/** The queued proposals of one batch, as parallel arrays. */
interface Batch<R> {
  payloads: EntryPayload[];
  resolves: Resolve<R>[];
  rejects: Reject[];
  extras: (WriteExtra | undefined)[] | null;
}

/**
 * Checks a write's leader guard and resolve stage (`InvalidRequest` if malformed); `null` for a plain
 * write (neither given), so it takes the common path.
 */
export function writeModeOf(opts: {
  expectedLeader?: LeaderVote | undefined;
  resolveAt?: ResolveAt | undefined;
}): WriteMode | null {
  const { expectedLeader, resolveAt } = opts;
  if (expectedLeader === undefined && (resolveAt === undefined || resolveAt === 'apply')) return null;
  if (resolveAt !== undefined && resolveAt !== 'apply' && resolveAt !== 'commit') {
    throw new InvalidRequestError(
      'resolveAt',
      `expected 'apply' or 'commit', got ${JSON.stringify(resolveAt)}`,
    );
  }
  if (expectedLeader !== undefined) {
    if (expectedLeader === null || typeof expectedLeader !== 'object') {
      throw new InvalidRequestError('expectedLeader', 'expected a leader vote {term, nodeId}');
    }
    const { term, nodeId } = expectedLeader;
    if (typeof term !== 'number' || !Number.isSafeInteger(term) || term < 0) {
      throw new InvalidRequestError('expectedLeader.term', 'expected a non-negative integer term');
    }
    if (typeof nodeId !== 'string' || nodeId.length === 0) {
      throw new InvalidRequestError(
        'expectedLeader.nodeId',
        'expected the leader’s node id (a non-empty string)',
      );
    }
  }
  return {
    expectedLeader:
      expectedLeader === undefined ? undefined : { term: expectedLeader.term, nodeId: expectedLeader.nodeId },
    resolveAt: resolveAt ?? 'apply',
  };
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
