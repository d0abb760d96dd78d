/**
 * Owns the transport contract: `RaftNetwork` (a client to one peer), its factory and
 * `RaftRpcHandler` (what a transport's server calls), with their call options. Interfaces only: a
 * transport checks framing, size and authentication, and must never validate a message's content
 * (the runtime does, once, with `validate.ts`).
 */
import type {
  AppendEntriesRequest,
  AppendEntriesResponse,
  SnapshotResponse,
  StreamAppendResult,
  TransferLeaderRequest,
  VoteRequest,
  VoteResponse,
} from './messages.ts';
import type { Node, NodeId } from './node.ts';
import type { Snapshot, SnapshotData, SnapshotMeta } from './snapshot.ts';
import type { Vote } from './vote.ts';

/** Options of a unary RPC. */
export interface RpcOptions {
  /** Aborts the call; it then rejects with the signal's reason (or a `NetworkError`). */
  signal?: AbortSignal;
  /** Rejects with `RpcTimeoutError` when no answer came within this many milliseconds. */
  timeoutMs?: number;
}

/** Options of a `streamAppend` call. */
export interface StreamAppendOptions {
  /** Ends the stream; the result iterator then throws. */
  signal?: AbortSignal;
  /**
   * Bounds the wait for the next reply while requests are outstanding (not the stream's lifetime);
   * on expiry the result iterator throws `RpcTimeoutError`.
   */
  timeoutMs?: number;
}

/** Options of a snapshot transfer. */
export interface SnapshotOptions extends RpcOptions {
  /** Preferred chunk size in bytes for transports that chunk. */
  chunkBytes?: number;
}

/**
 * A client to one target node. Every call may reject with an RPC error: `UnreachableError` (the
 * target cannot be reached now; callers back off), `NetworkError` (a connection failed mid-call),
 * `RpcTimeoutError`, or `RemoteError` (the target answered with an error).
 */
export interface RaftNetwork {
  /** Sends one AppendEntries and waits for its answer. */
  appendEntries(req: AppendEntriesRequest, opts?: RpcOptions): Promise<AppendEntriesResponse>;
  /** Sends a vote or pre-vote request. */
  vote(req: VoteRequest, opts?: RpcOptions): Promise<VoteResponse>;
  /** Sends a whole snapshot (the transport chunks it as it likes) and waits for it to be installed. */
  fullSnapshot(vote: Vote, snapshot: Snapshot, opts?: SnapshotOptions): Promise<SnapshotResponse>;
  /** Asks the target to take over leadership. */
  transferLeader?(req: TransferLeaderRequest, opts?: RpcOptions): Promise<void>;
  /**
   * Pipelined AppendEntries: sends every request of `input` in order, each whole or not at all, without
   * waiting for replies, and yields replies as they come. A reply is a cumulative watermark; there may
   * be fewer replies than requests. Ends after a `conflict` or `higherVote` reply, or when `input` ends
   * and every request is acknowledged. Transport failures are thrown from the result iterator.
   * Optional: without it the runtime sends one `appendEntries` at a time.
   */
  streamAppend?(
    input: AsyncIterable<AppendEntriesRequest>,
    opts?: StreamAppendOptions,
  ): AsyncIterable<StreamAppendResult>;
  /** Delays (ms) to wait between attempts after `UnreachableError`; the runtime's default otherwise. */
  backoff?(): Iterable<number>;
  /** Releases the client's connections. */
  close?(): Promise<void>;
}

/** Makes clients to other nodes. */
export interface RaftNetworkFactory {
  /** A client to `target`; connects lazily, on first use. */
  newClient(target: NodeId, node: Node): RaftNetwork;
  /**
   * Whether this transport can use `node.addr` (address syntax belongs to the transport: a TCP
   * transport wants `host:port`, the memory router any id). Returns `null` when it can, else a
   * human-readable reason. The runtime asks before anything is proposed (`initialize`, `addLearner`,
   * `changeMembership` with nodes) and refuses the call with `InvalidRequestError`. Optional: without
   * it every address is accepted. Must not do I/O (no resolution, no connection).
   */
  validateAddress?(node: Node): string | null;
}

/**
 * What a transport's server side calls: the receiving node. `Raft` implements it and validates every
 * message (shape, ranges, ids), rejecting bad ones with `InvalidRequestError`.
 */
export interface RaftRpcHandler {
  /** Handles an AppendEntries. */
  appendEntries(req: AppendEntriesRequest): Promise<AppendEntriesResponse>;
  /** Handles a vote or pre-vote request. */
  vote(req: VoteRequest): Promise<VoteResponse>;
  /** Handles a pipelined AppendEntries stream; replies are cumulative watermarks, each after a flush. */
  streamAppend(
    input: AsyncIterable<AppendEntriesRequest>,
    opts?: { signal?: AbortSignal },
  ): AsyncIterable<StreamAppendResult>;
  /** Receives and installs a whole snapshot. */
  installFullSnapshot(vote: Vote, meta: SnapshotMeta, data: SnapshotData): Promise<SnapshotResponse>;
  /** Handles a request to take over leadership. */
  transferLeader(req: TransferLeaderRequest): Promise<void>;
}
