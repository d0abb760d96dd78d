/**
 * The RPC handler: the requests a node's transport hands it (AppendEntries, votes, pipelined
 * append streams, snapshots, leadership-transfer requests).
 *
 * Owns: the validation of every incoming request — the one boundary where a peer's input is
 * checked (transports check framing, size and authentication only); a malformed request fails alone
 * with `InvalidRequest`, never reaching the engine. Must never: trust a transport to have validated
 * anything, let a refused request stop the node, or answer before the engine's condition holds.
 */
import type { EngineResponse } from '@flotilla/engine';
import { serveStreamAppend } from '@flotilla/replication';
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  InvalidRequestError,
  PanickedError,
  type RaftStateMachine,
  type SnapshotData,
  type SnapshotMeta,
  type SnapshotResponse,
  type StreamAppendResult,
  type TransferLeaderRequest,
  type Vote,
  type VoteRequest,
  type VoteResponse,
  validateAppendEntriesRequest,
  validateTransferLeaderRequest,
  validateVoteRequest,
} from '@flotilla/types';
import type { RaftCore } from '../core/raft-core.ts';
import { SnapshotReceiver } from './snapshot-receiver.ts';

/** How many pipelined AppendEntries a served stream keeps in flight. */
const STREAM_APPEND_WINDOW = 64;

/** The RPC handler of one node (see the file comment). */
export class RpcHandler<D, R> {
  readonly #core: RaftCore<D, R>;
  readonly #receiver: SnapshotReceiver<D, R>;

  constructor(core: RaftCore<D, R>, stateMachine: RaftStateMachine<D, R>) {
    this.#core = core;
    this.#receiver = new SnapshotReceiver<D, R>(core.parts, stateMachine, core.stateMachine);
  }

  /** Settles once every snapshot transfer received so far discarded its sink. */
  transfersEnded(): Promise<void> {
    return this.#receiver.ended();
  }

  appendEntries(req: AppendEntriesRequest): Promise<AppendEntriesResponse> {
    const { loop, engine, clock } = this.#core.parts;
    return loop
      .request(
        () => validateAppendEntriesRequest(req),
        (r, reply: (res: EngineResponse) => void) => engine.handleAppendEntries(r, reply, clock.now()),
      )
      .then((res) => answerOf(res, 'appendEntries'));
  }

  vote(req: VoteRequest): Promise<VoteResponse> {
    const { loop, engine, clock } = this.#core.parts;
    return loop
      .request(
        () => validateVoteRequest(req),
        (r, reply: (res: EngineResponse) => void) => engine.handleVoteRequest(r, reply, clock.now()),
      )
      .then((res) => answerOf(res, 'vote'));
  }

  streamAppend(
    input: AsyncIterable<AppendEntriesRequest>,
    opts: { signal?: AbortSignal },
  ): AsyncIterable<StreamAppendResult> {
    if (
      typeof (input as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] !== 'function'
    ) {
      return refuse(new InvalidRequestError('input', 'expected an async iterable of AppendEntries requests'));
    }
    const window = STREAM_APPEND_WINDOW;
    const serveOpts = opts.signal === undefined ? { window } : { window, signal: opts.signal };
    return serveStreamAppend(input, (req) => this.appendEntries(req), serveOpts);
  }

  async installFullSnapshot(vote: Vote, meta: SnapshotMeta, data: SnapshotData): Promise<SnapshotResponse> {
    return answerOf(await this.#receiver.receive(vote, meta, data), 'installSnapshot');
  }

  async transferLeader(req: TransferLeaderRequest): Promise<void> {
    const { loop, engine, clock } = this.#core.parts;
    loop.ensureRunning();
    const r = validateTransferLeaderRequest(req);
    await loop.call(() => engine.handleTransferLeader(r, clock.now()));
  }
}

/** A stream that fails at once with `err`. */
async function* refuse(err: Error): AsyncGenerator<StreamAppendResult> {
  yield* [];
  throw err;
}

type AnswerOf<K extends EngineResponse['type']> = Extract<EngineResponse, { type: K }>['response'];

/** The engine's answer of type `type`; another type is a broken invariant. */
function answerOf<K extends EngineResponse['type']>(res: EngineResponse, type: K): AnswerOf<K> {
  if (res.type !== type) throw new PanickedError(`expected a ${type} response, got ${res.type}`);
  return res.response as AnswerOf<K>;
}
