/**
 * Peers: the network clients this node uses outside replication (votes and leadership-transfer
 * requests), the clients handed to the replication streams, and vote requests with their answers.
 *
 * Owns: the cached vote clients (closed when their node leaves the membership, moves to another
 * address, or at a stop), and the validation of every vote answer a peer sends. Must never: hand a
 * peer's answer to the engine unchecked, let a transport's throw (synchronous or not) escape into
 * the loop, or keep a client of a node that left the membership or moved.
 */
import {
  ErrorCode,
  getNode,
  hasErrorCode,
  type LogId,
  logIdEquals,
  NetworkError,
  type Node,
  type NodeId,
  type RaftNetwork,
  type RaftNetworkFactory,
  type TransferLeaderRequest,
  type VoteRequest,
  type VoteResponse,
  validateVoteResponse,
} from '@flotilla/types';
import type { CoreParts } from './parts.ts';

/** The vote timeout, in minimum election timeouts. */
const VOTE_TIMEOUT_FACTOR = 1;

/** The network clients of one node (see the file comment). */
export class Peers {
  readonly #p: CoreParts;
  readonly #network: RaftNetworkFactory;
  /** Vote clients by node, with the address each was made for. */
  readonly #voteClients = new Map<NodeId, { client: RaftNetwork; addr: string }>();
  /** The effective membership's log id when `#voteClients` was last pruned. */
  #prunedAt: LogId | null = null;
  /** Peers reported unreachable or refusing at warn, until they answer again. */
  readonly #down = new Set<NodeId>();

  constructor(parts: CoreParts, network: RaftNetworkFactory) {
    this.#p = parts;
    this.#network = network;
  }

  /**
   * A replication client for `id`. If the network cannot make one (e.g. an address it cannot parse),
   * the failure is logged and the stream gets a client whose calls fail with `NetworkError`: that
   * target is unreachable, the leader keeps running.
   */
  streamClient(id: NodeId, node: Node): RaftNetwork {
    try {
      return this.#network.newClient(id, node);
    } catch (err) {
      this.#p.logger.warn('cannot create a network client', { target: id, err: String(err) });
      const fail = () =>
        Promise.reject(new NetworkError(`no client to ${id}: ${String(err)}`, { cause: err }));
      return { appendEntries: fail, vote: fail, fullSnapshot: fail };
    }
  }

  /**
   * A call to `target` failed. An `UNREACHABLE` error (down, no route, or a refused handshake:
   * authentication or cluster mismatch) is logged at warn once per peer, until it answers again;
   * anything else at debug.
   */
  reportFailure(target: NodeId, err: unknown): void {
    if (!hasErrorCode(err, ErrorCode.Unreachable)) {
      this.#p.logger.debug('call to peer failed', { target, err: String(err) });
      return;
    }
    if (this.#down.has(target)) return;
    this.#down.add(target);
    this.#p.logger.warn('peer unreachable or refusing; retrying quietly until it answers', {
      target,
      err: String(err),
    });
  }

  /** `target` answered: a peer reported down is logged as recovered (info), once. */
  reportContact(target: NodeId): void {
    if (this.#down.size === 0 || !this.#down.delete(target)) return;
    this.#p.logger.info('peer answers again', { target });
  }

  /** Sends a vote request; a valid answer is queued to the engine, anything else only logged. */
  sendVote(target: NodeId, request: VoteRequest): void {
    const p = this.#p;
    const client = this.#clientOf(target);
    if (client === null) return;
    const timeoutMs = Math.max(p.config.electionTimeoutMinMs * VOTE_TIMEOUT_FACTOR, 1);
    // A transport that throws synchronously fails this request only.
    promiseOf(() => client.vote(request, { timeoutMs })).then(
      (resp) => {
        // A peer's answer is input like any request: a malformed one is dropped (the election times
        // out), never handed to the engine where it would stop this node.
        let valid: VoteResponse;
        try {
          valid = validateVoteResponse(resp);
        } catch (err) {
          p.logger.warn('malformed vote response dropped', { target, err: String(err) });
          return;
        }
        this.reportContact(target);
        p.loop.enqueue(() => p.engine.handleVoteResponse(target, valid, p.clock.now()));
      },
      (err: unknown) => this.reportFailure(target, err),
    );
  }

  /** Asks `target` to take over leadership; a failure is only logged (the transfer times out). */
  sendTransferLeader(target: NodeId, request: TransferLeaderRequest): void {
    const p = this.#p;
    const client = this.#clientOf(target);
    if (client === null) return;
    if (client.transferLeader === undefined) {
      p.logger.warn('the network has no transferLeader: the transfer request is not sent', { target });
      return;
    }
    const send = client.transferLeader.bind(client);
    promiseOf(() => send(request, { timeoutMs: p.config.electionTimeoutMaxMs })).catch((err: unknown) =>
      p.logger.warn('transferLeader failed', { target, err: String(err) }),
    );
  }

  /**
   * Closes the vote clients of nodes no longer in the effective membership, or whose address changed
   * (`setNodes`), once per membership; the next call to a moved node makes a client for its new address.
   */
  pruneRemoved(): void {
    const effective = this.#p.engine.membership().effective;
    if (logIdEquals(effective.logId, this.#prunedAt)) return;
    this.#prunedAt = effective.logId;
    for (const [id, c] of this.#voteClients) {
      if (getNode(effective.membership, id)?.addr === c.addr) continue;
      this.#voteClients.delete(id);
      this.#close(id, c.client);
    }
  }

  /** Closes every vote client (at a stop). */
  closeAll(): void {
    for (const [id, c] of this.#voteClients) this.#close(id, c.client);
    this.#voteClients.clear();
  }

  /**
   * The cached client of `id` (a member of the effective membership); `null` (logged) if `id` is
   * not a member or the network cannot make one (e.g. an address it cannot parse).
   */
  #clientOf(id: NodeId): RaftNetwork | null {
    const node = getNode(this.#p.engine.membership().effective.membership, id);
    if (node === undefined) return null;
    const cached = this.#voteClients.get(id);
    if (cached !== undefined && cached.addr === node.addr) return cached.client;
    if (cached !== undefined) {
      this.#voteClients.delete(id);
      this.#close(id, cached.client);
    }
    let client: RaftNetwork;
    try {
      client = this.#network.newClient(id, node);
    } catch (err) {
      this.#p.logger.warn('cannot create a network client', { target: id, err: String(err) });
      return null;
    }
    this.#voteClients.set(id, { client, addr: node.addr });
    return client;
  }

  /** Closes a client without waiting; a failure (also a synchronous throw) is only logged. */
  #close(id: NodeId, client: RaftNetwork): void {
    const close = client.close?.bind(client);
    if (close === undefined) return;
    promiseOf(close).catch((err: unknown) =>
      this.#p.logger.debug('closing a network client failed', { target: id, err: String(err) }),
    );
  }
}

/** Runs `fn`, turning a synchronous throw into a rejected promise. */
export function promiseOf<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}
