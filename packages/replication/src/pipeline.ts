/**
 * Pipeline mode of a replication stream (`logsSince`): one `streamAppend` call fed with every entry
 * after `prev` as it becomes readable, without waiting for replies; cumulative acks turn into
 * `progress` events with the lease time of the earliest request they cover.
 *
 * Owns: the in-flight queue of one pipeline run and its flow control (`maxInflightRequests`,
 * `maxInflightBytes`, `maxPayloadEntries`). Must never: send entries read after the leader changed,
 * split or reorder a request, accept an ack outside what was sent, or report progress past what an
 * ack covers.
 */
import {
  type AppendEntriesRequest,
  type Clock,
  compareLogId,
  type Entry,
  entryDataBytes,
  formatLogId,
  type Logger,
  type LogId,
  logIdEquals,
  NetworkError,
  type NodeId,
  nextIndex,
  RemoteError,
  type StreamAppendResult,
  type TimerHandle,
  type Vote,
  validateStreamAppendResult,
} from '@flotilla/types';
import { raceAbort } from './abort.ts';
import type { ReplicationEvent } from './events.ts';
import { ReadFailure, storageReadError } from './log-read.ts';
import { lastLogIdOf, sequentialStreamAppend } from './sequential.ts';
import type { ReplicationStreamOptions } from './stream-options.ts';
import { Watch, waitAnyWhen } from './watch.ts';

/** What a pipeline run needs of its stream. */
export interface PipelineHost {
  readonly target: NodeId;
  readonly id: number;
  readonly leaderVote: Vote;
  readonly options: ReplicationStreamOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Whether this node is still `leaderVote`'s leader (its accepted I/O is under that vote). */
  leaderValid(): boolean;
  /** A checked read of the leader's log (counted). */
  read(start: number, end: number, prev: LogId | null, exact: boolean): Promise<Entry[]>;
  /** Builds (and counts) an AppendEntries request. */
  request(prev: LogId | null, entries: Entry[], leaderCommit: LogId | null): AppendEntriesRequest;
  emit(event: ReplicationEvent): void;
  /** A reply came: the back-off restarts. */
  succeeded(): void;
  /** Reports a higher vote (checked to be higher). */
  higherVote(inflightId: number, vote: Vote): void;
  close(): void;
  /** The unacknowledged requests now. */
  setInflightRequests(n: number): void;
}

interface Queued {
  prev: LogId | null;
  last: LogId | null;
  sentAt: number;
  bytes: number;
  /**
   * An ack landed inside this request (only ever the head of the queue): it stays queued so that a
   * later ack of its rest takes its `sentAt`, but no longer counts against flow control (the target
   * may never answer for the rest).
   */
  partial: boolean;
}

/** Requests still counted against `maxInflightRequests`. */
function unanswered(queue: readonly Queued[]): number {
  return queue.length - (queue[0]?.partial === true ? 1 : 0);
}

/**
 * Runs pipeline mode from `prev` until a conflict, a higher vote, a failure, a leader change or
 * `signal`. As openraft's pipeline does, a result stream that ends (the network or the sequential
 * fallback stopped after part of what was sent, e.g. a partial success) starts a new one at once
 * from the last acknowledged log id, in the same inflight, when it made progress; a run that ended
 * without moving the watermark is a transport error (so a network that keeps ending streams early
 * backs off instead of spinning).
 */
export async function runPipeline(
  host: PipelineHost,
  inflightId: number,
  prev: LogId | null,
  signal: AbortSignal,
): Promise<void> {
  let from = prev;
  let first = true;
  for (;;) {
    const end = await runStream(host, inflightId, from, first, signal);
    if (end === null) return;
    if (compareLogId(end.matched, from) <= 0)
      throw new NetworkError(`stream ended with ${end.unacked} request(s) unacknowledged`);
    host.logger.debug('stream ended after progress; continuing from the watermark', {
      target: host.target,
      streamId: host.id,
      matching: formatLogId(end.matched),
    });
    from = end.matched;
    first = false;
  }
}

/** How a result stream ended when it simply ran out: the last watermark and what it left unacked. */
interface StreamEnd {
  matched: LogId | null;
  unacked: number;
}

/**
 * One `streamAppend` call from `prev`; `null` when the pipeline is over (conflict, higher vote,
 * leader change), a {@link StreamEnd} when the result stream ran out. `first`: the first ack is
 * reported even if it only confirms `prev` (a later run's start was reported already).
 */
async function runStream(
  host: PipelineHost,
  inflightId: number,
  prev: LogId | null,
  first: boolean,
  signal: AbortSignal,
): Promise<StreamEnd | null> {
  const o = host.options;
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
  /** A request for the commit index alone may go: the time given to entries to carry it is over. */
  let commitDue = false;
  let commitTimer: TimerHandle | null = null;
  const commitTurn = new Watch(0);
  /** Set when an ack lands inside a request: the producer sends the next request even if empty. */
  const nudge = new Watch(0);
  const commitDelayMs = Math.max(1, cfg.heartbeatIntervalMs / 4);
  let readFailure: ReadFailure | null = null;
  // The accepted I/O changes with every write this leader accepts; a waiting producer only cares
  // when it stops being this leader's (the checks after every wake and read still run).
  const leaderLost = () => !host.leaderValid();
  const stopForLeaderChange = () => {
    leaderChanged = true;
    local.abort(new NetworkError('leader changed'));
  };

  const produce = (async function* (): AsyncGenerator<AppendEntriesRequest> {
    for (;;) {
      const av = acked.version;
      const waiting = unanswered(queue);
      if (waiting >= cfg.maxInflightRequests || (waiting > 0 && inflightBytes >= cfg.maxInflightBytes)) {
        await acked.changed(local.signal, av);
        continue;
      }
      if (!host.leaderValid()) return stopForLeaderChange();
      const since = [o.ioSubmitted.version, o.committed.version, o.ioAccepted.version, nudge.version];
      const start = nextIndex(sentUpTo);
      const readableEnd = nextIndex(o.ioSubmitted.get().logId);
      let entries: Entry[] = [];
      if (start < readableEnd) {
        try {
          entries = await host.read(
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
        if (!host.leaderValid()) return stopForLeaderChange();
        if (local.signal.aborted) return;
      } else if (sentCommit !== undefined && logIdEquals(o.committed.get(), sentCommit)) {
        await waitAnyWhen(
          [o.ioSubmitted, o.committed, o.ioAccepted, nudge],
          since,
          [undefined, undefined, leaderLost, undefined],
          local.signal,
        );
        continue;
      } else if (sentCommit !== undefined && !commitDue) {
        // Only the commit index moved. Entries written meanwhile (or the next heartbeat) carry it:
        // a request for the commit index alone, with its own reply, would cost every node a third
        // of its network events per write under light load. Give the next entries a quarter of a
        // heartbeat interval to come before one goes out.
        const tv = commitTurn.version;
        if (commitTimer === null) {
          commitTimer = host.clock.setTimeout(() => {
            commitTimer = null;
            commitDue = true;
            commitTurn.set(commitTurn.get() + 1);
          }, commitDelayMs);
        }
        await waitAnyWhen(
          [o.ioSubmitted, o.ioAccepted, commitTurn, nudge],
          [since[0] ?? 0, since[2] ?? 0, tv, since[3] ?? 0],
          [undefined, leaderLost, undefined, undefined],
          local.signal,
        );
        continue;
      }
      const leaderCommit = o.committed.get();
      const req = host.request(sentUpTo, entries, leaderCommit);
      let bytes = 0;
      for (const e of entries) bytes += entryDataBytes(e);
      const last = lastLogIdOf(req);
      queue.push({ prev: req.prevLogId, last, sentAt: host.clock.now(), bytes, partial: false });
      inflightBytes += bytes;
      sentUpTo = last;
      sentCommit = leaderCommit;
      commitDue = false;
      if (commitTimer !== null) {
        // This request carries the commit index: the time given for it starts over at the next change.
        host.clock.clearTimeout(commitTimer);
        commitTimer = null;
      }
      host.setInflightRequests(unanswered(queue));
      yield req;
    }
  })();

  const opts = { signal: local.signal, timeoutMs: cfg.appendTimeoutMs };
  const useStream = o.useStreamAppend ?? o.network.streamAppend !== undefined;
  const results: AsyncIterable<StreamAppendResult> =
    useStream && o.network.streamAppend !== undefined
      ? o.network.streamAppend(produce, opts)
      : sequentialStreamAppend(o.network, produce, opts);
  const it = results[Symbol.asyncIterator]();
  // The first ack is reported even if it only confirms `prev`.
  let lastReported: LogId | null = prev;
  let firstAck = first;
  try {
    for (;;) {
      const r = await raceAbort(it.next(), local.signal);
      if (local.signal.aborted) throw local.signal.reason;
      if (r.done === true) break;
      const reply = validateStreamAppendResult(r.value);
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
        // A watermark inside a request (the follower holds a prefix of it; acks need not map 1:1 to
        // requests) keeps the pipeline going, as openraft does: a later reply acks the rest, or the
        // follower's prevLogId check refuses the next request with a conflict and the engine
        // searches again from `m`. The request no longer holds back the next ones, and one more
        // request goes out even with nothing new to send, so that the target answers for the rest.
        const head = queue[0];
        if (head !== undefined && !head.partial && compareLogId(m, head.prev) > 0) {
          head.partial = true;
          inflightBytes -= head.bytes;
          head.bytes = 0;
          if (queue.length === 1) {
            sentCommit = undefined;
            nudge.set(nudge.get() + 1);
          }
        }
        host.setInflightRequests(unanswered(queue));
        // Only an ack that moved the watermark, or answered everything sent, clears the back-off: a
        // follower that keeps accepting nothing (a partial success of zero entries) must not reset
        // the error count, or its stream would restart at once forever.
        if (compareLogId(m, lastReported) > 0 || queue.length === 0) host.succeeded();
        acked.set(acked.get() + 1);
        if (sentAt !== null) {
          lastReported = m;
          firstAck = false;
          host.emit({
            type: 'progress',
            target: host.target,
            streamId: host.id,
            inflightId,
            matching: m,
            sentAt,
          });
        }
      } else if (reply.type === 'conflict') {
        host.succeeded();
        host.emit({
          type: 'conflict',
          target: host.target,
          streamId: host.id,
          inflightId,
          logId: reply.logId,
        });
        return null;
      } else {
        host.succeeded();
        host.higherVote(inflightId, reply.vote);
        return null;
      }
    }
    if (readFailure !== null) throw readFailure;
    if (leaderChanged) {
      host.close();
      return null;
    }
    return { matched: lastReported, unacked: queue.length };
  } catch (e) {
    if (readFailure !== null) throw readFailure;
    if (leaderChanged) {
      host.logger.debug('leader changed; stream stops', { target: host.target, streamId: host.id });
      host.close();
      return null;
    }
    throw e;
  } finally {
    if (commitTimer !== null) host.clock.clearTimeout(commitTimer);
    signal.removeEventListener('abort', onAbort);
    local.abort(new NetworkError('pipeline finished'));
    void Promise.resolve(it.return?.()).catch(() => {});
  }
}
