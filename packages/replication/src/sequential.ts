import {
  type AppendEntriesRequest,
  type LogId,
  type RaftNetwork,
  RemoteError,
  type StreamAppendOptions,
  type StreamAppendResult,
  validateAppendEntriesResponse,
} from '@flotilla/types';
import { raceAbort } from './abort.ts';

/** The last log id an AppendEntries covers: its last entry's, or its `prevLogId` when empty. */
export function lastLogIdOf(req: AppendEntriesRequest): LogId | null {
  const last = req.entries[req.entries.length - 1];
  return last === undefined ? req.prevLogId : last.logId;
}

/**
 * `streamAppend` emulated with one `appendEntries` at a time, for networks without a native
 * `streamAppend`. It pulls the next request only after the previous one is answered, so at most one
 * request is ever in flight. It ends after a conflict or a higher vote (like a real stream) and also
 * after a partial success: a stream sends each request whole or not at all, so the rest of the input
 * cannot follow a request that was cut; the caller sees the stream end early and starts over.
 *
 * `opts.timeoutMs` is passed to each `appendEntries`; `opts.signal` aborts the call in progress.
 */
export async function* sequentialStreamAppend(
  network: Pick<RaftNetwork, 'appendEntries'>,
  input: AsyncIterable<AppendEntriesRequest>,
  opts: StreamAppendOptions = {},
): AsyncGenerator<StreamAppendResult, void, undefined> {
  for await (const req of input) {
    const call = network.appendEntries(req, opts);
    const reply: unknown = opts.signal === undefined ? await call : await raceAbort(call, opts.signal);
    // A target's reply is input: a malformed one ends the stream (INVALID_REQUEST), never passes as an ack.
    const resp = validateAppendEntriesResponse(reply);
    switch (resp.type) {
      case 'success':
        yield { type: 'matched', matching: lastLogIdOf(req) };
        break;
      case 'partialSuccess':
        yield { type: 'matched', matching: resp.matching };
        return;
      case 'conflict':
        if (req.prevLogId === null)
          throw new RemoteError(null, 'conflict reported for a request that starts at index 0');
        yield { type: 'conflict', logId: req.prevLogId };
        return;
      case 'higherVote':
        yield { type: 'higherVote', vote: resp.vote };
        return;
    }
  }
}
