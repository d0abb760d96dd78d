/**
 * One leader-to-target replication stream: runs the engine's `replicate` commands for one target
 * (a fixed range, pipeline mode, or a snapshot), one at a time, the latest pre-empting the one running.
 *
 * Owns: the stream's life (idle, running, failed, closed), its back-off, its counters, and the
 * checks of every reply to a unary AppendEntries. Must never: send entries read after the leader
 * changed, retry a storage fault, report an event after `close()`, or block `close()` on the network.
 */
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  type Clock,
  compareLogId,
  type Entry,
  formatLogId,
  hasErrorCode,
  InvalidRequestError,
  type Logger,
  type LogId,
  logIdEquals,
  NetworkError,
  type NodeId,
  nextIndex,
  RemoteError,
  StorageError,
  silentLogger,
  sleep,
  systemClock,
  type Vote,
  validateAppendEntriesResponse,
  validateSnapshotResponse,
  voteEquals,
  voteGt,
} from '@flotilla/types';
import { Backoff, exponentialBackoff, isTransientError } from './config.ts';
import { withDeadline } from './deadline.ts';
import type { ReplicationEvent } from './events.ts';
import { asError, ReadFailure, readEntries } from './log-read.ts';
import { type PipelineHost, runPipeline } from './pipeline.ts';
import { type SnapshotSource, transmitSnapshot } from './snapshot.ts';
import type {
  ReplicateRequest,
  ReplicationStreamOptions,
  ReplicationStreamState,
  ReplicationStreamStats,
} from './stream-options.ts';
import { Watch, waitAny } from './watch.ts';

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

  readonly #opts: ReplicationStreamOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
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
    this.#opts = opts;
    this.id = opts.streamId;
    this.target = opts.target;
    this.leaderVote = opts.leaderVote;
    this.#clock = opts.clock ?? systemClock;
    this.#logger = opts.logger ?? silentLogger;
    const network = opts.network;
    const cfg = opts.config.backoff;
    this.#backoff = new Backoff(
      () => network.backoff?.() ?? exponentialBackoff(cfg),
      cfg.errorsBeforeBackoff,
    );
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
    if (p.type === 'snapshot' && this.#opts.snapshots === undefined)
      throw new InvalidRequestError('payload', 'this stream has no snapshot source');
    if (this.#state === 'closed' || this.#state === 'failed') {
      this.#logger.debug('replicate ignored: stream is over', { target: this.target, streamId: this.id });
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
    this.#opts.core.notify(event);
  }

  #leaderValid(): boolean {
    return voteEquals(this.#opts.ioAccepted.get().vote, this.leaderVote);
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
          this.#logger.warn('replication stream failed unexpectedly', { target: this.target, error: e });
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
    if (!this.#leaderValid()) {
      this.#logger.debug('leader changed; stream stops', { target: this.target, streamId: this.id });
      this.close();
      return;
    }
    try {
      switch (req.payload.type) {
        case 'logs':
          return await this.#sendRange(req.inflightId, req.payload.prev, req.payload.last, signal);
        case 'logsSince':
          return await runPipeline(this.#pipelineHost(), req.inflightId, req.payload.prev, signal);
        case 'snapshot':
          return await this.#sendSnapshot(req.inflightId, signal);
      }
    } catch (e) {
      if (signal.aborted) throw e;
      if (e instanceof ReadFailure) {
        // A read that raced a truncation by the next leader is stale, not a storage fault: the vote
        // moved on while it ran. Only a failure under a still-valid leader is fatal.
        if (!this.#leaderValid()) {
          this.#logger.debug('log read failed after the leader changed; stream stops', {
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
      const error = asError(e);
      // Transient errors are retried at once until they repeat (openraft's back-off ranks); a failed
      // snapshot transfer always backs off (retrying a whole transfer at once would only repeat it).
      const backoffMs = this.#backoff.failed(req.payload.type !== 'snapshot' && isTransientError(error));
      this.#retryAt = this.#clock.now() + backoffMs;
      this.#logger.debug('transport error', { target: this.target, error, backoffMs });
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

  /**
   * Waits until the entries up to `last` are readable (`ioSubmitted`), never polling; `false` if
   * this node stopped being `leaderVote`'s leader meanwhile.
   */
  async #untilReadable(last: LogId | null, signal: AbortSignal): Promise<boolean> {
    const o = this.#opts;
    for (;;) {
      if (!this.#leaderValid()) return false;
      if (compareLogId(o.ioSubmitted.get().logId, last) >= 0) return true;
      await waitAny([o.ioSubmitted, o.ioAccepted], [o.ioSubmitted.version, o.ioAccepted.version], signal);
    }
  }

  /** A checked read of the leader's log (counted in `stats.logReads`). */
  #read(start: number, end: number, prev: LogId | null, exact: boolean): Promise<Entry[]> {
    this.#stats.logReads += 1;
    return readEntries(this.#opts.reader, start, end, prev, exact);
  }

  /** What a pipeline run needs of this stream. */
  #pipelineHost(): PipelineHost {
    return {
      target: this.target,
      id: this.id,
      leaderVote: this.leaderVote,
      options: this.#opts,
      clock: this.#clock,
      logger: this.#logger,
      leaderValid: () => this.#leaderValid(),
      read: (start, end, prev, exact) => this.#read(start, end, prev, exact),
      request: (prev, entries, leaderCommit) => this.#request(prev, entries, leaderCommit),
      emit: (event) => this.#emit(event),
      succeeded: () => this.#succeeded(),
      higherVote: (inflightId, vote) => this.#higherVote(inflightId, vote),
      close: () => this.close(),
      setInflightRequests: (n) => {
        this.#inflightRequests = n;
        if (n > this.#stats.maxInflightRequests) this.#stats.maxInflightRequests = n;
      },
    };
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
    // The engine issues a range once it appended it; its entries are readable once handed to storage.
    if (end > start && !(await this.#untilReadable(last, signal))) {
      this.close();
      return;
    }
    const entries = end > start ? await this.#read(start, end, prev, true) : [];
    if (!this.#leaderValid()) {
      this.close();
      return;
    }
    const got = entries.length === 0 ? prev : (entries[entries.length - 1] as Entry).logId;
    if (!logIdEquals(got, last))
      throw new ReadFailure(
        new StorageError('read', `expected last ${formatLogId(last)}, read ${formatLogId(got)}`),
      );
    const req = this.#request(prev, entries, this.#opts.committed.get());
    const sentAt = this.#clock.now();
    const timeoutMs = this.#opts.config.appendTimeoutMs;
    const reply: unknown = await withDeadline(
      (s) => this.#opts.network.appendEntries(req, { signal: s, timeoutMs }),
      timeoutMs,
      this.#clock,
      signal,
      'appendEntries',
    );
    const resp: AppendEntriesResponse = validateAppendEntriesResponse(reply);
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

  async #sendSnapshot(inflightId: number, signal: AbortSignal): Promise<void> {
    const source = this.#opts.snapshots as SnapshotSource;
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
    const reply: unknown = await transmitSnapshot(this.#opts.network, this.leaderVote, snapshot, {
      signal,
      timeoutMs: this.#opts.config.installSnapshotTimeoutMs,
      chunkBytes: this.#opts.config.snapshotChunkBytes,
      clock: this.#clock,
    });
    const resp = validateSnapshotResponse(reply);
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
