import type {
  AppendEntriesRequest,
  AppendEntriesResponse,
  LogId,
  RaftRpcHandler,
  SnapshotMeta,
  SnapshotResponse,
  StreamAppendResult,
  TransferLeaderRequest,
  Vote,
  VoteRequest,
  VoteResponse,
} from '@flotilla/types';
import {
  collectSnapshotData,
  validateAppendEntriesRequest,
  validateInstallSnapshot,
  validateTransferLeaderRequest,
  validateVoteRequest,
} from '@flotilla/types';

/** The last log id an AppendEntries request covers: its last entry, or `prevLogId`. */
export function requestLastLogId(req: AppendEntriesRequest): LogId | null {
  return req.entries[req.entries.length - 1]?.logId ?? req.prevLogId;
}

/** A snapshot as the scripted handler received it. */
export interface ReceivedSnapshot {
  /** The sender's vote. */
  vote: Vote;
  /** The snapshot's meta. */
  meta: SnapshotMeta;
  /** All of its data. */
  bytes: Uint8Array;
}

/** What a scripted stream sees: the requests and the signal the transport passed. */
export type StreamScript = (
  input: AsyncIterable<AppendEntriesRequest>,
  opts: { signal?: AbortSignal } | undefined,
  handler: ScriptedHandler,
) => AsyncIterable<StreamAppendResult>;

/** Validates each streamed request as it is pulled, as the runtime does; throws at the first bad one. */
async function* validated(input: AsyncIterable<AppendEntriesRequest>): AsyncIterable<AppendEntriesRequest> {
  for await (const req of input) yield validateAppendEntriesRequest(req, 'streamAppend');
}

/**
 * The server side the network suite scripts: a `RaftRpcHandler` that records what it receives and
 * answers as each case tells it. By default it grants nothing and acknowledges every streamed request.
 *
 * Like the runtime, it validates every request with the validators of `@flotilla/types` before
 * anything else, and throws their `InvalidRequestError`: a transport checks framing only, so the
 * suite's malformed-request cases prove that it delivers what it is given and carries the handler's
 * typed error back.
 */
export class ScriptedHandler implements RaftRpcHandler {
  /** AppendEntries requests received (unary). */
  readonly appends: AppendEntriesRequest[] = [];
  /** Vote requests received. */
  readonly votes: VoteRequest[] = [];
  /** Snapshots received. */
  readonly snapshots: ReceivedSnapshot[] = [];
  /** Transfer-leader requests received. */
  readonly transfers: TransferLeaderRequest[] = [];
  /** Requests received over streams, in arrival order. */
  readonly streamed: AppendEntriesRequest[] = [];
  /** Streams opened. */
  streamsOpened = 0;
  /** Streams whose handler side has finished (normally or not). */
  streamsClosed = 0;
  /** Answers a unary AppendEntries. */
  onAppend: (req: AppendEntriesRequest) => Promise<AppendEntriesResponse> = async () => ({ type: 'success' });
  /** Answers a vote. */
  onVote: (req: VoteRequest) => Promise<VoteResponse> = async (req) => ({
    vote: req.vote,
    voteGranted: false,
    lastLogId: null,
  });
  /** Answers a snapshot. */
  onSnapshot: (s: ReceivedSnapshot) => Promise<SnapshotResponse> = async (s) => ({ vote: s.vote });
  /** Answers a transfer-leader request. */
  onTransfer: (req: TransferLeaderRequest) => Promise<void> = async () => {};
  /** Serves a stream. Default: one `matched` per request, in order. */
  onStream: StreamScript = async function* (input, _opts, self) {
    for await (const req of input) {
      self.streamed.push(req);
      yield { type: 'matched', matching: requestLastLogId(req) };
    }
  };

  /** @inheritDoc */
  async appendEntries(req: AppendEntriesRequest): Promise<AppendEntriesResponse> {
    validateAppendEntriesRequest(req);
    this.appends.push(req);
    return this.onAppend(req);
  }

  /** @inheritDoc */
  async vote(req: VoteRequest): Promise<VoteResponse> {
    validateVoteRequest(req);
    this.votes.push(req);
    return this.onVote(req);
  }

  /** @inheritDoc */
  async installFullSnapshot(
    vote: Vote,
    meta: SnapshotMeta,
    data: AsyncIterable<Uint8Array>,
  ): Promise<SnapshotResponse> {
    validateInstallSnapshot(vote, meta);
    const s = { vote, meta, bytes: await collectSnapshotData(data) };
    this.snapshots.push(s);
    return this.onSnapshot(s);
  }

  /** @inheritDoc */
  async transferLeader(req: TransferLeaderRequest): Promise<void> {
    validateTransferLeaderRequest(req);
    this.transfers.push(req);
    return this.onTransfer(req);
  }

  /** @inheritDoc */
  async *streamAppend(
    input: AsyncIterable<AppendEntriesRequest>,
    opts?: { signal?: AbortSignal },
  ): AsyncIterable<StreamAppendResult> {
    this.streamsOpened++;
    try {
      yield* this.onStream(validated(input), opts, this);
    } finally {
      this.streamsClosed++;
    }
  }
}
