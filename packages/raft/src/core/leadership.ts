/**
 * Leadership as the API sees it: whether this node may take writes, where to forward a client, and
 * the leadership transfer this leader started.
 *
 * Owns: the transfer in progress (thesis §3.10). Must never: change the engine's state (it only reads
 * it) or run outside the core loop.
 */
import { ForwardToLeaderError, getNode, type Node, type NodeId } from '@flotilla/types';
import type { CoreParts } from './parts.ts';

/** What a node that has no membership yet answers instead of "leader unknown". */
const NOT_INITIALIZED =
  'not the leader; this node is not initialized (it has no membership yet): call initialize() on one node of a new cluster, or add this node to a running cluster with addLearner()';

/** Where the leadership stands for API calls (see the file comment). */
export class Leadership {
  readonly #p: CoreParts;
  /**
   * The leadership transfer this node started as leader of `term`. Until that term ends, the node
   * takes no new writes or membership changes and confirms no reads: it stays silent, so the term
   * ends within about an election timeout even if the target never takes over (the engine has no way
   * to call a transfer off; check-quorum or a higher term deposes this leader).
   */
  #leaderTransfer: { term: number; to: NodeId } | null = null;

  constructor(parts: CoreParts) {
    this.#p = parts;
  }

  /** Records a transfer to `to` started now by this leader. */
  startTransfer(to: NodeId): void {
    if (to !== this.#p.id) this.#leaderTransfer = { term: this.#p.engine.vote().term, to };
  }

  /** The target of this leader's transfer in progress, or `null`. */
  transferring(): NodeId | null {
    const t = this.#leaderTransfer;
    if (t === null) return null;
    const engine = this.#p.engine;
    if (engine.serverState() === 'Leader' && engine.vote().term === t.term) return t.to;
    this.#leaderTransfer = null;
    return null;
  }

  /** Whether this node is a leader that takes writes (not transferring). */
  takesWrites(): boolean {
    return this.#p.engine.serverState() === 'Leader' && this.transferring() === null;
  }

  /** Runs `fn` if this node is the leader (and, for `writes`, not transferring); else throws a forward. */
  requireLeader<T>(fn: (now: number) => T, opts: { writes?: boolean } = {}): T {
    if (this.#p.engine.serverState() !== 'Leader') throw this.forwardError();
    if (opts.writes === true && this.transferring() !== null) throw this.forwardError();
    return fn(this.#p.clock.now());
  }

  /** The current leader's node, if known and in the effective membership. */
  leaderNode(): Node | null {
    const engine = this.#p.engine;
    const id = engine.currentLeader();
    if (id === null) return null;
    return getNode(engine.membership().effective.membership, id) ?? null;
  }

  /** The error telling a client where to go: the transfer target, the known leader, or nowhere. */
  forwardError(): ForwardToLeaderError {
    const engine = this.#p.engine;
    const to = this.transferring();
    if (to !== null) {
      return new ForwardToLeaderError(to, getNode(engine.membership().effective.membership, to) ?? null);
    }
    const leader = engine.currentLeader();
    if (leader === null && engine.membership().effective.logId === null) {
      return new ForwardToLeaderError(null, null, NOT_INITIALIZED);
    }
    const self = leader === this.#p.id;
    return new ForwardToLeaderError(self ? null : leader, self ? null : this.leaderNode());
  }
}
