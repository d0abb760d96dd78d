/**
 * Owns one value per node and the greatest value a quorum has accepted (`VecProgress`), kept
 * incrementally; the leader tracks its commit index and its lease clock with it. Values only grow:
 * it must never move a value back, and never count a learner toward a quorum.
 */
import { compareLogId, InvalidRequestError, type LogId, type NodeId } from '@flotilla/types';
import type { QuorumSet } from './quorum.ts';

/** Options of {@link VecProgress}. */
export interface VecProgressOptions<V> {
  /** Total order on values: negative, zero or positive like `Array.prototype.sort`. */
  compare: (a: V, b: V) => number;
  /** The value of an id nothing was heard from (also the quorum value when no quorum exists). */
  initial: V;
  /** Ids tracked but never counted toward a quorum. */
  learners?: Iterable<NodeId>;
}

/** One majority config: its voters ordered by value, greatest first. */
interface Ranked {
  order: NodeId[];
  pos: Map<NodeId, number>;
  /** Strict majority size: the `need`-th greatest value is accepted by a majority. */
  need: number;
}

/**
 * One value per node (a matching log id, an ack timestamp…) and the greatest value accepted by a
 * quorum, maintained incrementally.
 *
 * With a majority or joint quorum set, each config keeps its voters sorted by value; an update moves
 * the one voter toward the front by insertion (values only grow) and the quorum value is the least,
 * over configs, of each config's majority-th greatest value: O(distance moved + configs) per
 * update, never a full sort. Other quorum sets fall back to a sort per update.
 */
export class VecProgress<V> {
  readonly #compare: (a: V, b: V) => number;
  readonly #initial: V;
  #quorum: QuorumSet;
  #values = new Map<NodeId, V>();
  #voters = new Set<NodeId>();
  #ranked: Ranked[] | null = null;
  #accepted: V;

  /** Tracks every voter of `quorum` and every learner at `initial`. */
  constructor(quorum: QuorumSet, opts: VecProgressOptions<V>) {
    this.#compare = opts.compare;
    this.#initial = opts.initial;
    this.#quorum = quorum;
    this.#accepted = opts.initial;
    this.#install(quorum, opts.learners ?? [], new Map());
  }

  /**
   * Sets `id`'s value. Values only grow: a value not greater than the current one is ignored.
   * Returns whether the quorum-accepted value changed. Learners are tracked but never count.
   * Throws `InvalidRequestError` for an id that is neither a voter nor a learner.
   */
  update(id: NodeId, value: V): boolean {
    const cur = this.#values.get(id);
    if (cur === undefined && !this.#values.has(id)) {
      throw new InvalidRequestError('id', `node ${id} is neither a voter nor a learner of this progress`);
    }
    if (this.#compare(value, cur as V) <= 0) return false;
    this.#values.set(id, value);
    if (!this.#voters.has(id)) return false;
    if (this.#ranked !== null) {
      for (const r of this.#ranked) this.#promote(r, id, value);
    }
    return this.#recompute();
  }

  /** `id`'s value, or `undefined` when `id` is not tracked. */
  get(id: NodeId): V | undefined {
    return this.#values.get(id);
  }

  /**
   * The greatest value `v` such that the ids whose value is `>= v` form a quorum (`initial` when the
   * quorum set has no quorum at all).
   */
  quorumAccepted(): V {
    return this.#accepted;
  }

  /**
   * Replaces the quorum set (a membership change), keeping the values of ids still present (as a
   * voter or a learner), adding new ids at `initial` and dropping the others. The quorum value is
   * recomputed and may go down (a new config may not have accepted as much yet).
   */
  upgradeQuorumSet(quorum: QuorumSet, learners: Iterable<NodeId> = []): void {
    const old = this.#values;
    this.#quorum = quorum;
    this.#install(quorum, learners, old);
  }

  /** Every tracked `[id, value]`: voters first, then learners. */
  entries(): [NodeId, V][] {
    return [...this.#values.entries()];
  }

  /** The quorum set in use. */
  quorumSet(): QuorumSet {
    return this.#quorum;
  }

  #install(quorum: QuorumSet, learners: Iterable<NodeId>, old: Map<NodeId, V>): void {
    const values = new Map<NodeId, V>();
    this.#voters = new Set(quorum.ids());
    for (const id of this.#voters) values.set(id, old.has(id) ? (old.get(id) as V) : this.#initial);
    for (const id of learners) {
      if (!values.has(id)) values.set(id, old.has(id) ? (old.get(id) as V) : this.#initial);
    }
    this.#values = values;
    const configs = quorum.majorityConfigs?.();
    if (configs === undefined) {
      this.#ranked = null;
    } else {
      this.#ranked = configs.map((c) => {
        const order = [...c].sort((a, b) => this.#compare(values.get(b) as V, values.get(a) as V));
        return { order, pos: new Map(order.map((id, i) => [id, i])), need: Math.floor(order.length / 2) + 1 };
      });
    }
    this.#accepted = this.#initial;
    this.#recompute();
  }

  /** Moves `id` toward the front of `r` past every voter with a smaller value. */
  #promote(r: Ranked, id: NodeId, value: V): void {
    let i = r.pos.get(id);
    if (i === undefined) return;
    const { order, pos } = r;
    while (i > 0) {
      const before = order[i - 1] as NodeId;
      if (this.#compare(this.#values.get(before) as V, value) >= 0) break;
      order[i] = before;
      pos.set(before, i);
      i--;
    }
    order[i] = id;
    pos.set(id, i);
  }

  /** Recomputes the quorum value; returns whether it changed. */
  #recompute(): boolean {
    const next = this.#ranked === null ? this.#bySorting() : this.#byRanks();
    const changed = this.#compare(next, this.#accepted) !== 0;
    this.#accepted = next;
    return changed;
  }

  #byRanks(): V {
    const ranked = this.#ranked as Ranked[];
    if (ranked.length === 0) return this.#initial;
    let least: V | undefined;
    let first = true;
    for (const r of ranked) {
      const v = this.#values.get(r.order[r.need - 1] as NodeId) as V;
      if (first || this.#compare(v, least as V) < 0) least = v;
      first = false;
    }
    return least as V;
  }

  #bySorting(): V {
    const voters = [...this.#voters].sort((a, b) =>
      this.#compare(this.#values.get(b) as V, this.#values.get(a) as V),
    );
    const prefix: NodeId[] = [];
    for (const id of voters) {
      prefix.push(id);
      if (this.#quorum.isQuorum(prefix)) return this.#values.get(id) as V;
    }
    return this.#initial;
  }
}

/** Commit tracking: each voter's matching log id (`null` at first, ordered by `compareLogId`). */
export function logIdProgress(quorum: QuorumSet, learners?: Iterable<NodeId>): VecProgress<LogId | null> {
  return new VecProgress<LogId | null>(quorum, {
    compare: compareLogId,
    initial: null,
    ...(learners === undefined ? {} : { learners }),
  });
}

/**
 * Lease tracking: each voter's latest acknowledged send time on the monotonic clock. Starts at
 * `-Infinity` (never acknowledged), so no lease is granted before a quorum has answered.
 */
export function timestampProgress(quorum: QuorumSet, learners?: Iterable<NodeId>): VecProgress<number> {
  return new VecProgress<number>(quorum, {
    compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
    initial: Number.NEGATIVE_INFINITY,
    ...(learners === undefined ? {} : { learners }),
  });
}
