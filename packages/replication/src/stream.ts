import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  type Clock,
  compareLogId,
  type Entry,
  entryDataBytes,
  formatLogId,
  hasErrorCode,
  InvalidRequestError,
  type Logger,
  type LogId,
  logIdEquals,
  NetworkError,
  type NodeId,
  nextIndex,
  type RaftLogReader,
  type RaftNetwork,
  RemoteError,
  StorageError,
  type StreamAppendResult,
  silentLogger,
  sleep,
  systemClock,
  type Vote,
  voteEquals,
  voteGt,
} from '@flotilla/types';
import { raceAbort } from './abort.ts';
import { Backoff, exponentialBackoff, type ReplicationConfig } from './config.ts';
import { withDeadline } from './deadline.ts';
import type { ReplicationCore, ReplicationEvent } from './events.ts';
import { lastLogIdOf, sequentialStreamAppend } from './sequential.ts';
import { type SnapshotSource, transmitSnapshot } from './snapshot.ts';
import { type ReadonlyWatch, Watch, waitAny } from './watch.ts';

/**
 * An I/O position of the leader's node: the vote under which I/O was issued and the last log id it
 * covers. Published by the runtime as `ioAccepted` (set just before a vote or log write is handed
 * to storage) and `ioSubmitted` (set once appended entries are readable).
 */
export interface IoId {
  /** The vote the I/O was issued under. */
  vote: Vote;
  /** The last log id the I/O covers. */
  logId: LogId | null;
}

/** What a `replicate` command asks the stream to send. */
export type ReplicatePayload =
  /**
   * Exactly the entries `(prev, last]`, as one AppendEntries sent whole (a probe when
   * `last === prev`). Answered by one `progress`, `conflict`, `higherVote` or `transportError`.
   */
  | { type: 'logs'; prev: LogId | null; last: LogId | null }
  /**
   * Pipeline mode: every entry after `prev`, and on, as they become readable (`ioSubmitted`) or as
   * the commit index moves (`committed`), without waiting for replies. Runs until a conflict, a
   * higher vote, a transport error, a leader change or the next `replicate`/`close`.
   */
  | { type: 'logsSince'; prev: LogId | null }
  /** The current snapshot (from the stream's `SnapshotSource`). */
  | { type: 'snapshot' };

/** A `replicate` command: the engine's inflight id and what to send. */
export interface ReplicateRequest {
  /** The engine's id of this inflight; echoed in every event it causes. */
  inflightId: number;
  /** What to send. */
  payload: ReplicatePayload;
}

/** Everything a {@link ReplicationStream} needs. */
export interface ReplicationStreamOptions {
  /** The follower or learner this stream replicates to. */
  target: NodeId;
  /** This stream's id, unique per node; echoed in every event. */
  streamId: number;
  /** The leader's committed vote, sent in every request. */
  leaderVote: Vote;
  /** The client of `target` used for entries and snapshots. */
  network: RaftNetwork;
  /** A reader of the leader's log, owned by this stream. */
  reader: RaftLogReader;
  /** I/O accepted by the leader's node; when its vote is not `leaderVote`, the stream stops. */
  ioAccepted: ReadonlyWatch<IoId>;
  /** I/O submitted to storage: entries up to `logId` are readable. */
  ioSubmitted: ReadonlyWatch<IoId>;
  /** The leader's committed log id. */
  committed: ReadonlyWatch<LogId | null>;
  /** Receives the stream's events. */
  core: ReplicationCore;
  /** Limits and timeouts (see `resolveReplicationConfig`). */
  config: ReplicationConfig;
  /** The clock for `sentAt`, back-off and deadlines (default: `systemClock`). */
  clock?: Clock;
  /** Diagnostics (default: silent). */
  logger?: Logger;
  /** Where snapshots come from; required to serve `{type: 'snapshot'}`. */
  snapshots?: SnapshotSource;
  /**
   * Whether to use `network.streamAppend` (default: when the network has it). Without it the
   * pipeline runs over {@link sequentialStreamAppend}.
   */
  useStreamAppend?: boolean;
  /**
   * TEST-ONLY: deliberately planted bugs, for the runtime-level simulator to prove it catches them.
   * Never set this outside tests. `'sendStaleReads'` skips every check of `leaderVote` against
   * `ioAccepted` (before and after log reads, and on a failed read), so entries read after this node
   * stopped being `leaderVote`'s leader may still be sent.
   */
  plantedBugs?: ReadonlySet<PlantedReplicationBug>;
}

/** TEST-ONLY bugs a stream can be told to have (see `ReplicationStreamOptions.plantedBugs`). */
export type PlantedReplicationBug = 'sendStaleReads';

/** Where a stream is in its life. */
export type ReplicationStreamState = 'idle' | 'running' | 'failed' | 'closed';

/** Counters of one stream, for metrics and tests. */
export interface ReplicationStreamStats {
  /** AppendEntries requests sent (unary and pipelined). */
  requestsSent: number;
  /** Entries sent. */
  entriesSent: number;
  /** Calls made to the log reader. */
  logReads: number;
  /** The most unacknowledged pipelined requests observed at once. */
  maxInflightRequests: number;
}

/** A storage failure, kept apart from transport failures so it is never retried. */
class ReadFailure extends Error {
  readonly error: Error;
  constructor(error: Error) {
    super(error.message);
    this.error = error;
  }
}

function storageReadError(e: unknown): Error {
  if (hasErrorCode(e, 'STORAGE')) return e;
  return new StorageError('read', e instanceof Error ? e.message : String(e), { cause: e });
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new NetworkError(String(e), { cause: e });
}

interface Queued {
  prev: LogId | null;
  last: LogId | null;
  sentAt: number;
  bytes: number;
}

/**
 * One leader-to-target replication stream. The runtime drives it with {@link ReplicationStream.replicate}
 * (only the latest command matters: a new one pre-empts the one running) and hears back through
 * `core.notify`. It never polls: when idle it waits on the `ioSubmitted`, `committed` and
 * `ioAccepted` watches.
 *
 * Guarantees: a request is sent whole or the stream fails; requests on a stream are consecutive;
 * entries read after the leader's vote stopped matching `ioAccepted` are dropped, never sent; a
 * storage read error is reported once as `fatal` and the stream stops for good; `close()` returns at
 * once, even if the network hangs.
 */
export class ReplicationStream {
  /** This stream's id. */
  readonly id: number;
  /** The target node. */
  readonly target: NodeId;
  /** The leader vote this stream replicates under. */
  readonly leaderVote: Vote;
  /** Resolves when the stream's task has ended (after `close()`, a failure or a leader change). */
  readonly done: Promise<void>;

  readonly #o: ReplicationStreamOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #root = new AbortController();
  readonly #wake = new Watch(0);
  readonly #backoff: Backoff;
  #retryAt = 0;
  #pending: ReplicateRequest | null = null;
  #current: ReplicateRequest | null = null;
  #exec: AbortController | null = null;
  #state: ReplicationStreamState = 'idle';
  #inflightRequests = 0;
  #stats: ReplicationStreamStats = { requestsSent: 0, entriesSent: 0, logReads: 0, maxInflightRequests: 0 };

  /** Starts the stream's task; it waits for the first `replicate`. */
  constructor(opts: ReplicationStreamOptions) {
    this.#o = opts;
    this.id = opts.streamId;
    this.target = opts.target;
    this.leaderVote = opts.leaderVote;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.logger ?? silentLogger;
    const network = opts.network;
    const cfg = opts.config.backoff;
    this.#backoff = new Backoff(() => network.backoff?.() ?? exponentialBackoff(cfg));
    this.done = this.#run();
  }

  /** Where the stream is: `idle` (waiting for a command), `running`, `failed` (fatal) or `closed`. */
  get state(): ReplicationStreamState {
    return this.#state;
  }

  /** The inflight id of the command running or waiting to run, or `null`. */
  get inflightId(): number | null {
    return (this.#pending ?? this.#current)?.inflightId ?? null;
  }

  /** Unacknowledged requests of the running pipeline. */
  get inflightRequests(): number {
    return this.#inflightRequests;
  }

  /** The delay the next command waits before sending (0 unless the last attempt failed). */
  get backoffMs(): number {
    return this.#backoff.current;
  }

  /** A copy of the stream's counters. */
  get stats(): ReplicationStreamStats {
    return { ...this.#stats };
  }

  /**
   * Hands the stream a command. It replaces any command not yet started and pre-empts the one
   * running (whose late replies are then never reported). Ignored (returns `false`) once the stream
   * is closed or failed. Throws `InvalidRequestError` for a malformed command.
   */
  replicate(req: ReplicateRequest): boolean {
    const p = req.payload;
    if (!Number.isSafeInteger(req.inflightId))
      throw new InvalidRequestError('inflightId', 'expected an integer');
    if (p.type === 'logs' && compareLogId(p.prev, p.last) > 0)
      throw new InvalidRequestError(
        'payload.last',
        `last ${formatLogId(p.last)} < prev ${formatLogId(p.prev)}`,
      );
    if (p.type === 'snapshot' && this.#o.snapshots === undefined)
      throw new InvalidRequestError('payload', 'this stream has no snapshot source');
    if (this.#state === 'closed' || this.#state === 'failed') {
      this.#log.debug('replicate ignored: stream is over', { target: this.target, streamId: this.id });
      return false;
    }
    this.#pending = req;
    this.#exec?.abort(new NetworkError('pre-empted by a newer replicate'));
    this.#wake.set(this.#wake.get() + 1);
    return true;
  }

  /** Stops the stream now, without waiting for any call in progress. Idempotent. */
  close(): void {
    if (this.#state !== 'failed') this.#state = 'closed';
    this.#root.abort(new NetworkError('replication stream closed'));
    this.#exec?.abort(new NetworkError('replication stream closed'));
  }

  #emit(event: ReplicationEvent): void {
    if (this.#root.signal.aborted) return;
    this.#o.core.notify(event);
  }

  /** Whether the test-only `'sendStaleReads'` bug is planted (skip every leader check). */
  #staleReadsPlanted(): boolean {
    return this.#o.plantedBugs?.has('sendStaleReads') === true;
  }

  #leaderValid(): boolean {
    return voteEquals(this.#o.ioAccepted.get().vote, this.leaderVote);
  }

  async #run(): Promise<void> {
    const root = this.#root.signal;
    while (!root.aborted) {
      const v = this.#wake.version;
      const req = this.#pending;
      if (req === null) {
        try {
          await this.#wake.changed(root, v);
        } catch {
          break;
        }
        continue;
      }
      this.#pending = null;
      this.#current = req;
      const exec = new AbortController();
      this.#exec = exec;
      this.#state = 'running';
      try {
        const wait = this.#retryAt - this.#clock.now();
        if (wait > 0) await sleep(this.#clock, wait, exec.signal);
        await this.#execute(req, exec.signal);
      } catch (e) {
        if (!exec.signal.aborted) {
          // #execute reports every expected outcome; anything else is a bug in a dependency.
          this.#log.warn('replication stream failed unexpectedly', { target: this.target, error: e });
          this.#fail(req.inflightId, asError(e));
        }
      } finally {
        this.#exec = null;
        this.#current = null;
        this.#inflightRequests = 0;
        if (this.#state === 'running') this.#state = 'idle';
      }
    }
  }

  #fail(inflightId: number, error: Error): void {
    this.#emit({ type: 'fatal', target: this.target, streamId: this.id, inflightId, error });
    this.#state = 'failed';
    this.#root.abort(error);
  }

  async #execute(req: ReplicateRequest, signal: AbortSignal): Promise<void> {
    if (!this.#staleReadsPlanted() && !this.#leaderValid()) {
      this.#log.debug('leader changed; stream stops', { target: this.target, streamId: this.id });
      this.close();
      return;
    }
    try {
      switch (req.payload.type) {
        case 'logs':
          return await this.#sendRange(req.inflightId, req.payload.prev, req.payload.last, signal);
        case 'logsSince':
          return await this.#pipeline(req.inflightId, req.payload.prev, signal);
        case 'snapshot':
          return await this.#sendSnapshot(req.inflightId, signal);
      }
    } catch (e) {
      if (signal.aborted) throw e;
      if (e instanceof ReadFailure) {
        // A read that raced a truncation by the next leader is stale, not a storage fault: the vote
        // moved on while it ran. Only a failure under a still-valid leader is fatal.
        if (!this.#staleReadsPlanted() && !this.#leaderValid()) {
          this.#log.debug('log read failed after the leader changed; stream stops', {
            target: this.target,
            streamId: this.id,
            error: e.error,
          });
          this.close();
          return;
        }
        this.#fail(req.inflightId, e.error);
        return;
      }
      const backoffMs = this.#backoff.next();
      this.#retryAt = this.#clock.now() + backoffMs;
      const error = asError(e);
      this.#log.debug('transport error', { target: this.target, error, backoffMs });
      this.#emit({
        type: req.payload.type === 'snapshot' ? 'snapshotFailed' : 'transportError',
        target: this.target,
        streamId: this.id,
        inflightId: req.inflightId,
        error,
        backoffMs,
      });
    }
  }

  #succeeded(): void {
    this.#backoff.reset();
    this.#retryAt = 0;
  }

  /** Reads `[start, end)` (all of it when `exact`, else a non-empty prefix) and checks what came back. */
  async #read(start: number, end: number, prev: LogId | null, exact: boolean): Promise<Entry[]> {
    let entries: Entry[];
    try {
      this.#stats.logReads += 1;
      entries = exact
        ? await this.#o.reader.tryGetLogEntries(start, end)
        : await this.#o.reader.limitedGetLogEntries(start, end);
    } catch (e) {
      throw new ReadFailure(storageReadError(e));
    }
    const bad = (why: string) =>
      new ReadFailure(new StorageError('read', `log entries [${start}, ${end}) ${why}`));
    if (entries.length === 0 || entries.length > end - start) throw bad(`returned ${entries.length} entries`);
    if (exact && entries.length !== end - start) throw bad(`missing (got ${entries.length})`);
    let prevTerm = prev?.term ?? 0;
    for (const [i, e] of entries.entries()) {
      if (e.logId.index !== start + i) throw bad(`has index ${e.logId.index} at position ${i}`);
      if (e.logId.term < prevTerm) throw bad(`has a term going down at index ${e.logId.index}`);
      prevTerm = e.logId.term;
    }
    return entries;
  }

  #request(prev: LogId | null, entries: Entry[], leaderCommit: LogId | null): AppendEntriesRequest {
    this.#stats.requestsSent += 1;
    this.#stats.entriesSent += entries.length;
    return { vote: this.leaderVote, prevLogId: prev, entries, leaderCommit };
  }

  async #sendRange(
    inflightId: number,
    prev: LogId | null,
    last: LogId | null,
    signal: AbortSignal,
  ): Promise<void> {
    const start = nextIndex(prev);
    const end = nextIndex(last);
    const entries = end > start ? await this.#read(start, end, prev, true) : [];
    if (!this.#staleReadsPlanted() && !this.#leaderValid()) {
      this.close();
      return;
    }
    const got = entries.length === 0 ? prev : (entries[entries.length - 1] as Entry).logId;
    if (!logIdEquals(got, last))
      throw new ReadFailure(
        new StorageError('read', `expected last ${formatLogId(last)}, read ${formatLogId(got)}`),
      );
    const req = this.#request(prev, entries, this.#o.committed.get());
    const sentAt = this.#clock.now();
    const timeoutMs = this.#o.config.appendTimeoutMs;
    const resp: AppendEntriesResponse = await withDeadline(
      (s) => this.#o.network.appendEntries(req, { signal: s, timeoutMs }),
      timeoutMs,
      this.#clock,
      signal,
      'appendEntries',
    );
    // Pre-empted between the reply and this continuation: the reply belongs to a superseded inflight.
    if (signal.aborted) throw signal.reason;
    this.#succeeded();
    const base = { target: this.target, streamId: this.id, inflightId };
    switch (resp.type) {
      case 'success':
        this.#emit({ type: 'progress', ...base, matching: last, sentAt });
        return;
      case 'partialSuccess':
        if (compareLogId(resp.matching, prev) < 0 || compareLogId(resp.matching, last) > 0)
          throw new RemoteError(null, `partial success ${formatLogId(resp.matching)} outside the range sent`);
        this.#emit({ type: 'progress', ...base, matching: resp.matching, sentAt });
        return;
      case 'conflict':
        if (prev === null)
          throw new RemoteError(null, 'conflict reported for a request that starts at index 0');
        this.#emit({ type: 'conflict', ...base, logId: prev });
        return;
      case 'higherVote':
        this.#higherVote(inflightId, resp.vote);
        return;
    }
  }

  #higherVote(inflightId: number, vote: Vote): void {
    if (!voteGt(vote, this.leaderVote))
      throw new RemoteError(null, 'higherVote reply carries a vote that is not greater than the leader vote');
    this.#emit({ type: 'higherVote', target: this.target, streamId: this.id, inflightId, vote });
  }

  async #pipeline(inflightId: number, prev: LogId | null, signal: AbortSignal): Promise<void> {
    const o = this.#o;
    const cfg = o.config;
    const local = new AbortController();
    const onAbort = () => local.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const queue: Queued[] = [];
    const acked = new Watch(0);
    let inflightBytes = 0;
    let sentUpTo = prev;
    let sentCommit: LogId | null | undefined;
    let leaderChanged = false;
    let readFailure: ReadFailure | null = null;
    const stopForLeaderChange = () => {
      leaderChanged = true;
      local.abort(new NetworkError('leader changed'));
    };

    const produce = async function* (this: ReplicationStream): AsyncGenerator<AppendEntriesRequest> {
      for (;;) {
        const av = acked.version;
        if (
          queue.length >= cfg.maxInflightRequests ||
          (queue.length > 0 && inflightBytes >= cfg.maxInflightBytes)
        ) {
          await acked.changed(local.signal, av);
          continue;
        }
        if (!this.#staleReadsPlanted() && !this.#leaderValid()) return stopForLeaderChange();
        const since = [o.ioSubmitted.version, o.committed.version, o.ioAccepted.version];
        const start = nextIndex(sentUpTo);
        const readableEnd = nextIndex(o.ioSubmitted.get().logId);
        let entries: Entry[] = [];
        if (start < readableEnd) {
          try {
            entries = await this.#read(
              start,
              Math.min(readableEnd, start + cfg.maxPayloadEntries),
              sentUpTo,
              false,
            );
          } catch (e) {
            readFailure = e instanceof ReadFailure ? e : new ReadFailure(storageReadError(e));
            local.abort(readFailure);
            throw readFailure;
          }
          // Raft §5.3 leader-append-only holds only while we are still the leader that read them.
          if (!this.#staleReadsPlanted() && !this.#leaderValid()) return stopForLeaderChange();
          if (local.signal.aborted) return;
        } else if (sentCommit !== undefined && logIdEquals(o.committed.get(), sentCommit)) {
          await waitAny([o.ioSubmitted, o.committed, o.ioAccepted], since, local.signal);
          continue;
        }
        const leaderCommit = o.committed.get();
        const req = this.#request(sentUpTo, entries, leaderCommit);
        let bytes = 0;
        for (const e of entries) bytes += entryDataBytes(e);
        const last = lastLogIdOf(req);
        queue.push({ prev: req.prevLogId, last, sentAt: this.#clock.now(), bytes });
        inflightBytes += bytes;
        sentUpTo = last;
        sentCommit = leaderCommit;
        this.#inflightRequests = queue.length;
        if (queue.length > this.#stats.maxInflightRequests) this.#stats.maxInflightRequests = queue.length;
        yield req;
      }
    }.call(this);

    const opts = { signal: local.signal, timeoutMs: cfg.appendTimeoutMs };
    const useStream = o.useStreamAppend ?? o.network.streamAppend !== undefined;
    const results: AsyncIterable<StreamAppendResult> =
      useStream && o.network.streamAppend !== undefined
        ? o.network.streamAppend(produce, opts)
        : sequentialStreamAppend(o.network, produce, opts);
    const it = results[Symbol.asyncIterator]();
    // The first ack is reported even if it only confirms `prev`.
    let lastReported: LogId | null = prev;
    let firstAck = true;
    try {
      for (;;) {
        const r = await raceAbort(it.next(), local.signal);
        if (local.signal.aborted) throw local.signal.reason;
        if (r.done === true) break;
        const reply = r.value;
        if (reply.type === 'matched') {
          const m = reply.matching;
          if (compareLogId(m, sentUpTo) > 0 || compareLogId(m, prev) < 0)
            throw new RemoteError(null, `ack ${formatLogId(m)} outside what was sent`);
          // The lease may only count the earliest request that ends at or after `m`: later ones with
          // the same last id (commit-only requests) may not have reached the follower yet.
          const firstGe = queue.find((q) => compareLogId(q.last, m) >= 0);
          const advanced = firstAck || compareLogId(m, lastReported) > 0;
          const sentAt = firstGe !== undefined && advanced ? firstGe.sentAt : null;
          while (queue.length > 0 && compareLogId((queue[0] as Queued).last, m) <= 0) {
            const h = queue.shift() as Queued;
            inflightBytes -= h.bytes;
          }
          this.#inflightRequests = queue.length;
          this.#succeeded();
          acked.set(acked.get() + 1);
          if (sentAt !== null) {
            lastReported = m;
            firstAck = false;
            this.#emit({
              type: 'progress',
              target: this.target,
              streamId: this.id,
              inflightId,
              matching: m,
              sentAt,
            });
          }
          // A watermark inside a request: the network delivered only part of it (or the follower
          // accepted a prefix). Nothing after it can follow; end the stream so the engine restarts at `m`.
          const head = queue[0];
          if (head !== undefined && compareLogId(m, head.prev) > 0)
            throw new NetworkError(
              `ack ${formatLogId(m)} inside request (${formatLogId(head.prev)}, ${formatLogId(head.last)}]: not delivered whole`,
            );
        } else if (reply.type === 'conflict') {
          this.#succeeded();
          this.#emit({
            type: 'conflict',
            target: this.target,
            streamId: this.id,
            inflightId,
            logId: reply.logId,
          });
          return;
        } else {
          this.#succeeded();
          this.#higherVote(inflightId, reply.vote);
          return;
        }
      }
      if (readFailure !== null) throw readFailure;
      if (leaderChanged) {
        this.close();
        return;
      }
      throw new NetworkError(`stream ended with ${queue.length} request(s) unacknowledged`);
    } catch (e) {
      if (readFailure !== null) throw readFailure;
      if (leaderChanged) {
        this.#log.debug('leader changed; stream stops', { target: this.target, streamId: this.id });
        this.close();
        return;
      }
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
      local.abort(new NetworkError('pipeline finished'));
      void Promise.resolve(it.return?.()).catch(() => {});
    }
  }

  async #sendSnapshot(inflightId: number, signal: AbortSignal): Promise<void> {
    const source = this.#o.snapshots as SnapshotSource;
    let snapshot: Awaited<ReturnType<SnapshotSource['getCurrentSnapshot']>>;
    try {
      snapshot = await source.getCurrentSnapshot();
    } catch (e) {
      throw new ReadFailure(
        hasErrorCode(e, 'STORAGE')
          ? e
          : new StorageError('snapshot', e instanceof Error ? e.message : String(e), { cause: e }),
      );
    }
    // Not fatal: the state machine may not have built one yet; the engine retries after the back-off.
    if (snapshot === null) throw new StorageError('snapshot', 'no snapshot to send yet');
    if (signal.aborted) throw signal.reason;
    const sentAt = this.#clock.now();
    const resp = await transmitSnapshot(this.#o.network, this.leaderVote, snapshot, {
      signal,
      timeoutMs: this.#o.config.installSnapshotTimeoutMs,
      chunkBytes: this.#o.config.snapshotChunkBytes,
      clock: this.#clock,
    });
    if (signal.aborted) throw signal.reason;
    this.#succeeded();
    if (voteGt(resp.vote, this.leaderVote)) {
      this.#higherVote(inflightId, resp.vote);
      return;
    }
    this.#emit({
      type: 'snapshotDone',
      target: this.target,
      streamId: this.id,
      inflightId,
      meta: snapshot.meta,
      sentAt,
    });
  }
}
