import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  type Clock,
  NetworkError,
  type RaftNetwork,
  type RpcOptions,
  type Snapshot,
  type SnapshotOptions,
  type SnapshotResponse,
  type StreamAppendOptions,
  type StreamAppendResult,
  sleep,
  UnreachableError,
  type Vote,
  type VoteRequest,
  type VoteResponse,
} from '@flotilla/types';
import { lastLogIdOf } from '../sequential.ts';
import { Watch } from '../watch.ts';
import type { FakeFollower } from './follower.ts';

/** Knobs of a {@link FakeNetwork}; change them at any time. */
export interface FakeNetworkOptions {
  /** One-way delay of every message (request or reply), in virtual ms. */
  delayMs?: number;
  /** Whether the network offers `streamAppend` (else callers use the sequential fallback). */
  streaming?: boolean;
  /** Merge every reply that reaches the leader at the same instant into one watermark. */
  coalesceAcks?: boolean;
}

/**
 * An in-memory client of one {@link FakeFollower} on a `Clock` (virtual or real), with fault injection:
 * per-message delay, pipelined `streamAppend` (requests are delivered in order, each after the
 * delay, replies come back after the delay), coalesced acks, calls that hang forever (ignoring
 * their signal), unreachability, broken streams and requests cut in half. Counts what it carries.
 */
export class FakeNetwork implements RaftNetwork {
  /** See {@link FakeNetworkOptions.delayMs}. */
  delayMs: number;
  /** See {@link FakeNetworkOptions.coalesceAcks}. */
  coalesceAcks: boolean;
  /** Every call hangs forever, ignoring its signal. */
  hang = false;
  /** Every call fails at once with `UnreachableError`. */
  unreachable = false;
  /** When it returns true for a request (numbered from 0 per network), only the first half of its entries is delivered. */
  cutRequest: ((n: number, req: AppendEntriesRequest) => boolean) | null = null;
  /** Requests handed to the network (unary and streamed). */
  requestsSent = 0;
  /** Entries acknowledged back to the leader. */
  entriesAcked = 0;
  /** Replies the leader received. */
  replies = 0;
  /** The most requests sent and not yet answered at one instant. */
  maxInflight = 0;
  /** `streamAppend` calls made. */
  streamsOpened = 0;
  /** Snapshots installed (`fullSnapshot` calls answered). */
  snapshotsInstalled = 0;
  /** Called for each snapshot: returns the receiver's vote (default: the sender's). */
  onSnapshot: ((vote: Vote, snapshot: Snapshot) => Vote) | null = null;
  /** `close()` calls. */
  closes = 0;
  readonly #clock: Clock;
  readonly #follower: FakeFollower;
  readonly #streaming: boolean;
  #inflight = 0;
  readonly #breakers = new Set<(e: Error) => void>();

  /** A client of `follower`, its messages timed by `clock`. */
  constructor(clock: Clock, follower: FakeFollower, opts: FakeNetworkOptions = {}) {
    this.#clock = clock;
    this.#follower = follower;
    this.delayMs = opts.delayMs ?? 0;
    this.coalesceAcks = opts.coalesceAcks ?? false;
    this.#streaming = opts.streaming ?? true;
    if (!this.#streaming) delete this.streamAppend;
  }

  /** Makes every open stream's result iterator throw `err` (a connection loss). */
  breakStreams(err: Error = new NetworkError('connection reset')): void {
    for (const b of [...this.#breakers]) b(err);
  }

  #deliver(req: AppendEntriesRequest): { req: AppendEntriesRequest; resp: AppendEntriesResponse } {
    const n = this.requestsSent++;
    let sent = req;
    if (this.cutRequest?.(n, req) === true && req.entries.length > 1)
      sent = { ...req, entries: req.entries.slice(0, Math.floor(req.entries.length / 2)) };
    return { req: sent, resp: this.#follower.handle(structuredClone(sent)) };
  }

  #send() {
    this.#inflight += 1;
    if (this.#inflight > this.maxInflight) this.maxInflight = this.#inflight;
  }

  #received(req: AppendEntriesRequest, resp: AppendEntriesResponse) {
    this.#inflight -= 1;
    this.replies += 1;
    if (resp.type === 'success') this.entriesAcked += req.entries.length;
  }

  /** Delivers `req` after the delay; answers after the delay (a partial success for a cut request). */
  async appendEntries(req: AppendEntriesRequest, opts?: RpcOptions): Promise<AppendEntriesResponse> {
    if (this.unreachable) throw new UnreachableError('target unreachable');
    if (this.hang) return new Promise<never>(() => {});
    this.#send();
    await sleep(this.#clock, this.delayMs, opts?.signal);
    const { req: sent, resp } = this.#deliver(req);
    await sleep(this.#clock, this.delayMs);
    this.#received(sent, resp);
    if (resp.type === 'success' && sent.entries.length < req.entries.length)
      return { type: 'partialSuccess', matching: lastLogIdOf(sent) };
    return resp;
  }

  /** Answers with the follower's vote, never granting (replication does not vote). */
  async vote(req: VoteRequest): Promise<VoteResponse> {
    return {
      vote: this.#follower.vote,
      voteGranted: false,
      lastLogId: this.#follower.lastLogId ?? req.lastLogId,
    };
  }

  /** Consumes the snapshot data (one delay per chunk) and answers with `onSnapshot`'s vote. */
  async fullSnapshot(vote: Vote, snapshot: Snapshot, opts?: SnapshotOptions): Promise<SnapshotResponse> {
    if (this.unreachable) throw new UnreachableError('target unreachable');
    if (this.hang) return new Promise<never>(() => {});
    for await (const _chunk of snapshot.data) await sleep(this.#clock, this.delayMs, opts?.signal);
    this.snapshotsInstalled += 1;
    return { vote: this.onSnapshot?.(vote, snapshot) ?? vote };
  }

  /** Pipelined AppendEntries (absent when built with `streaming: false`). */
  streamAppend?: (
    input: AsyncIterable<AppendEntriesRequest>,
    opts?: StreamAppendOptions,
  ) => AsyncIterable<StreamAppendResult> = (input, opts) => this.#stream(input, opts);

  async *#stream(
    input: AsyncIterable<AppendEntriesRequest>,
    opts?: StreamAppendOptions,
  ): AsyncGenerator<StreamAppendResult> {
    this.streamsOpened += 1;
    if (this.unreachable) throw new UnreachableError('target unreachable');
    const replies: StreamAppendResult[] = [];
    // With coalesceAcks, replies reaching the leader at one instant are released together.
    const held: StreamAppendResult[] = [];
    let flushScheduled = false;
    const release = (r: StreamAppendResult) => {
      if (!this.coalesceAcks) {
        replies.push(r);
        bump();
        return;
      }
      held.push(r);
      if (flushScheduled) return;
      flushScheduled = true;
      this.#clock.setTimeout(() => {
        flushScheduled = false;
        replies.push(...held.splice(0));
        bump();
      }, 0);
    };
    const wake = new Watch(0);
    const bump = () => wake.set(wake.get() + 1);
    let outstanding = 0;
    let inputDone = false;
    let broken: Error | null = null;
    let ended = false;
    const breaker = (e: Error) => {
      broken = e;
      bump();
    };
    this.#breakers.add(breaker);
    const pump = async () => {
      for await (const req of input) {
        if (ended || broken !== null) return;
        if (this.hang) continue;
        outstanding += 1;
        this.#send();
        this.#clock.setTimeout(() => {
          if (ended) return;
          const { req: sent, resp } = this.#deliver(req);
          this.#clock.setTimeout(() => {
            if (ended) return;
            outstanding -= 1;
            this.#received(sent, resp);
            if (resp.type === 'success') release({ type: 'matched', matching: lastLogIdOf(sent) });
            else if (resp.type === 'partialSuccess') release({ type: 'matched', matching: resp.matching });
            else if (resp.type === 'conflict' && req.prevLogId !== null)
              release({ type: 'conflict', logId: req.prevLogId });
            else if (resp.type === 'higherVote') release({ type: 'higherVote', vote: resp.vote });
          }, this.delayMs);
        }, this.delayMs);
      }
    };
    const pumping = pump().then(
      () => {
        inputDone = true;
        bump();
      },
      (e: unknown) => breaker(e instanceof Error ? e : new NetworkError(String(e))),
    );
    try {
      for (;;) {
        const v = wake.version;
        if (broken !== null) throw broken;
        let r = replies.shift();
        if (r !== undefined) {
          if (this.coalesceAcks)
            while (r.type === 'matched' && replies[0]?.type === 'matched')
              r = replies.shift() as StreamAppendResult;
          yield r;
          if (r.type !== 'matched') return;
          continue;
        }
        if (inputDone && outstanding === 0) return;
        await wake.changed(opts?.signal, v);
      }
    } finally {
      ended = true;
      this.#breakers.delete(breaker);
      void pumping;
    }
  }

  /** Counts the call. */
  async close(): Promise<void> {
    this.closes += 1;
  }
}
