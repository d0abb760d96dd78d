import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  InvalidConfigError,
  RemoteError,
  type StreamAppendResult,
} from '@flotilla/types';
import { onAbort } from './abort.ts';
import { lastLogIdOf } from './sequential.ts';

/**
 * Handles one AppendEntries on the receiving node, resolving only once the accepted entries are
 * flushed. Called in request order, possibly before earlier calls resolved (they are pipelined).
 */
export type AppendEntriesHandler = (req: AppendEntriesRequest) => Promise<AppendEntriesResponse>;

/** Options of {@link serveStreamAppend}. */
export interface ServeStreamAppendOptions {
  /** At most this many requests handed to `handle` and not yet answered (default 64). */
  window?: number;
  /** Ends the stream: the result iterator throws the signal's reason. */
  signal?: AbortSignal;
}

interface Slot {
  req: AppendEntriesRequest;
  settled: boolean;
  response: AppendEntriesResponse | undefined;
  error: unknown;
}

/**
 * The follower side of `streamAppend`, for transports and the runtime's RPC handler: hands each
 * request of `input` to `handle` in order, keeping at most `window` unanswered, and yields replies
 * in request order, each only once its request's entries are flushed. Replies of requests already
 * answered when the consumer asks are merged into one cumulative `matched` watermark. Ends after
 * the first rejection (`conflict` or `higherVote`, or a partial success, after its watermark): later
 * requests are not answered. A `handle` failure is thrown from the result iterator.
 *
 * @example
 * ```ts
 * // inside a transport's server side
 * for await (const reply of serveStreamAppend(requests, (req) => raft.appendEntries(req), { window: 64 }))
 *   send(reply);
 * ```
 */
export async function* serveStreamAppend(
  input: AsyncIterable<AppendEntriesRequest>,
  handle: AppendEntriesHandler,
  opts: ServeStreamAppendOptions = {},
): AsyncGenerator<StreamAppendResult, void, undefined> {
  const window = opts.window ?? 64;
  if (!Number.isSafeInteger(window) || window < 1)
    throw new InvalidConfigError('window', `expected an integer ≥ 1, got ${window}`);
  const queue: Slot[] = [];
  // Hand-offs between the pump and the consumer: each side waits on its own resolver, woken by the
  // other (one promise per wait, no watch, no abort subscription per wait).
  let wakeConsumer: (() => void) | null = null;
  let wakePump: (() => void) | null = null;
  const consumerMayGo = () => {
    const w = wakeConsumer;
    wakeConsumer = null;
    w?.();
  };
  const pumpMayGo = () => {
    const w = wakePump;
    wakePump = null;
    w?.();
  };
  const signal = opts.signal;
  let aborted = signal?.aborted === true;
  const offAbort =
    signal === undefined || aborted
      ? null
      : onAbort(signal, () => {
          aborted = true;
          consumerMayGo();
        });
  let inputDone = false;
  let inputError: unknown = null;
  let stopped = false;
  const it = input[Symbol.asyncIterator]();

  const pump = async () => {
    try {
      while (!stopped) {
        if (queue.length >= window) {
          await new Promise<void>((resolve) => {
            wakePump = resolve;
          });
          continue;
        }
        const r = await it.next();
        if (r.done === true || stopped) break;
        const slot: Slot = { req: r.value, settled: false, response: undefined, error: null };
        queue.push(slot);
        consumerMayGo();
        handle(r.value).then(
          (resp) => {
            slot.response = resp;
            slot.settled = true;
            consumerMayGo();
          },
          (e: unknown) => {
            slot.error = e ?? new RemoteError(null, 'append handler failed');
            slot.settled = true;
            consumerMayGo();
          },
        );
      }
    } catch (e) {
      inputError = e ?? new RemoteError(null, 'request stream failed');
    } finally {
      inputDone = true;
      consumerMayGo();
    }
  };
  const pumping = pump();
  const consumerWaits = (): Promise<void> =>
    new Promise<void>((resolve) => {
      wakeConsumer = resolve;
    });

  try {
    for (;;) {
      if (aborted) throw signal?.reason;
      const head = queue[0];
      if (head === undefined) {
        if (inputDone) {
          if (inputError !== null) throw inputError;
          return;
        }
        await consumerWaits();
        continue;
      }
      if (!head.settled) {
        await consumerWaits();
        continue;
      }
      if (head.error !== null) throw head.error;
      queue.shift();
      pumpMayGo();
      const resp = head.response as AppendEntriesResponse;
      switch (resp.type) {
        case 'success': {
          let matching = lastLogIdOf(head.req);
          // Merge replies already available into one watermark.
          for (
            let next = queue[0];
            next?.settled === true && next.response?.type === 'success';
            next = queue[0]
          ) {
            queue.shift();
            matching = lastLogIdOf(next.req);
          }
          pumpMayGo();
          yield { type: 'matched', matching };
          break;
        }
        case 'partialSuccess':
          yield { type: 'matched', matching: resp.matching };
          return;
        case 'conflict':
          if (head.req.prevLogId === null)
            throw new RemoteError(null, 'handler reported a conflict for a request that starts at index 0');
          yield { type: 'conflict', logId: head.req.prevLogId };
          return;
        case 'higherVote':
          yield { type: 'higherVote', vote: resp.vote };
          return;
      }
    }
  } finally {
    stopped = true;
    offAbort?.();
    pumpMayGo();
    if (!inputDone) void Promise.resolve(it.return?.()).catch(() => {});
    void pumping;
  }
}
