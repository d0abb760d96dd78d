import {
  compareLogId,
  type Entry,
  formatLogId,
  formatVote,
  isQuorum,
  type LogId,
  type Membership,
  type NodeId,
  type Vote,
  voteGe,
} from '@flotilla/types';
import { holds, type LogStore } from './disk.ts';

/** A safety violation found by the checker. */
export class Violation extends Error {
  override name = 'Violation';
}

function payloadKey(e: Entry): string {
  const p = e.payload;
  if (p.type === 'normal') return `n:${Array.from(p.data).join(',')}`;
  if (p.type === 'membership')
    return `m:${JSON.stringify(p.membership.configs)}:${Object.keys(p.membership.nodes).sort().join(',')}`;
  return 'b';
}

const key = (l: LogId) => `${l.term}-${l.index}`;

/**
 * Global safety bookkeeping across every node of a run: election safety, log matching, leader
 * completeness, state machine safety, committed-on-a-durable-quorum and monotonicity.
 */
export class Checker {
  /** term → leader. */
  #leaders = new Map<number, NodeId>();
  /** log id → (previous entry's term, payload key): with both unique per log id, Log Matching holds by induction. */
  #entries = new Map<string, { prevTerm: number; payload: string }>();
  /** index → the committed log id at that index (cluster-wide). */
  #committed = new Map<number, LogId>();
  /**
   * index → the lowest term at which a node saw the entry at that index committed. Raft guarantees
   * the entry to every leader of that term or later (Leader Completeness), not to a stale leader of
   * an earlier term, which may still overwrite it on a follower of its own term.
   */
  #committedSince = new Map<number, number>();
  /**
   * Truncations Raft allows that remove an entry committed at a later term than the truncating
   * leader's, as `"<log id> on <node> by term <T> (committed at term <U>)"`: rare, and kept so that a
   * regression test can prove its seed still exercises the case.
   */
  readonly staleLeaderTruncations: string[] = [];
  /** The greatest log id known committed anywhere. */
  maxCommitted: LogId | null = null;
  /**
   * term → the greatest log id a node at that term saw committed. Leader completeness is about the
   * entries committed in lower terms: a stale candidate that gathered its votes before a later term
   * began may still become leader of its (lower) term afterwards; it can commit nothing, and need not
   * hold what the later term committed.
   */
  #committedAtTerm = new Map<number, LogId>();
  /** index → the log id applied there by the first node that applied it. */
  #applied = new Map<number, LogId>();
  /** Per node: last seen durable vote, and per incarnation volatile vote/committed/applied. */
  #mono = new Map<
    NodeId,
    { durable: Vote | null; inc: number; vote: Vote | null; committed: LogId | null; applied: LogId | null }
  >();

  /** A node is leader of `term`. */
  leader(term: number, id: NodeId, log: LogStore): void {
    const prev = this.#leaders.get(term);
    if (prev !== undefined && prev !== id)
      throw new Violation(`election safety: ${prev} and ${id} both leader of term ${term}`);
    if (prev === undefined) {
      this.#leaders.set(term, id);
      // Leader completeness (§5.4): a new leader holds every entry committed in an earlier term.
      let need: LogId | null = null;
      for (const [t, logId] of this.#committedAtTerm)
        if (t < term && compareLogId(logId, need) > 0) need = logId;
      if (need !== null && !holds(log, need)) {
        throw new Violation(
          `leader completeness: new leader ${id} of term ${term} lacks ${formatLogId(need)}, committed in an earlier term`,
        );
      }
    }
  }

  /** Entries were appended to a node's log right after `prev` (the log id before the first). */
  appended(id: NodeId, prev: LogId | null, entries: readonly Entry[]): void {
    let prevTerm = prev?.term ?? -1;
    for (const e of entries) {
      const k = key(e.logId);
      const rec = { prevTerm, payload: payloadKey(e) };
      const old = this.#entries.get(k);
      if (old === undefined) this.#entries.set(k, rec);
      else if (old.prevTerm !== rec.prevTerm || old.payload !== rec.payload) {
        throw new Violation(
          `log matching: ${id} holds ${k} after term ${rec.prevTerm} / ${rec.payload}, elsewhere after term ${old.prevTerm} / ${old.payload}`,
        );
      }
      prevTerm = e.logId.term;
    }
  }

  /**
   * A node truncates from `since`, at the request of the leader of `term` (the term its vote had when
   * it issued the truncation). It must not remove an entry committed at `term` or before: every leader
   * of such a term holds that entry (Leader Completeness, §5.4), so none can send a conflicting one.
   * An entry first committed at a later term may be overwritten on a follower still at `term` by that
   * term's leader (it stays on the majority that committed it), exactly as Raft allows.
   */
  truncating(id: NodeId, log: LogStore, since: number, term: number): void {
    for (const e of log.entries) {
      if (e.logId.index < since) continue;
      const c = this.#committed.get(e.logId.index);
      const at = this.#committedSince.get(e.logId.index);
      if (c === undefined || c.term !== e.logId.term || at === undefined) continue;
      if (at <= term) {
        throw new Violation(
          `committed entry ${formatLogId(c)} truncated on ${id} by the leader of term ${term} (committed at term ${at})`,
        );
      }
      this.staleLeaderTruncations.push(
        `${formatLogId(c)} on ${id} by term ${term} (committed at term ${at})`,
      );
    }
  }

  /**
   * A node's committed log id advanced to `to`; records every committed log id from its log. When
   * `quorumCheck` is given (the node is leader), the entry must be durable on a quorum of it.
   */
  committedOn(
    id: NodeId,
    term: number,
    log: LogStore,
    to: LogId,
    quorumCheck?: { membership: Membership; durable: Map<NodeId, LogStore> },
  ): void {
    const seen = this.#committedAtTerm.get(term) ?? null;
    if (compareLogId(to, seen) > 0) this.#committedAtTerm.set(term, to);
    if (!holds(log, to)) throw new Violation(`${id} commits ${formatLogId(to)} that its log does not hold`);
    for (const e of log.entries) {
      if (e.logId.index > to.index) break;
      const c = this.#committed.get(e.logId.index);
      const since = this.#committedSince.get(e.logId.index);
      if (since === undefined || term < since) this.#committedSince.set(e.logId.index, term);
      if (c === undefined) this.#committed.set(e.logId.index, e.logId);
      else if (c.term !== e.logId.term) {
        throw new Violation(
          `${id} commits ${formatLogId(e.logId)} but ${formatLogId(c)} was committed at that index`,
        );
      }
    }
    if (compareLogId(to, this.maxCommitted) > 0) this.maxCommitted = to;
    if (quorumCheck !== undefined) {
      const holders: NodeId[] = [];
      for (const [n, d] of quorumCheck.durable) if (holds(d, to)) holders.push(n);
      if (!isQuorum(quorumCheck.membership, holders)) {
        throw new Violation(
          `leader ${id} committed ${formatLogId(to)} durable only on [${holders.join(',')}]`,
        );
      }
    }
  }

  /** A node sends a vote grant: its durable vote must already be the granted one (or greater). */
  grantDurable(id: NodeId, durable: Vote | null, granted: Vote): void {
    if (durable === null || !voteGe(durable, granted)) {
      throw new Violation(
        `${id} granted ${formatVote(granted)} while its durable vote is ${durable === null ? '-' : formatVote(durable)}`,
      );
    }
  }

  /** A node applied `logId` (state machine safety, §5.4.3). */
  applied(id: NodeId, logId: LogId): void {
    const c = this.#applied.get(logId.index);
    if (c === undefined) this.#applied.set(logId.index, logId);
    else if (c.term !== logId.term)
      throw new Violation(
        `state machine safety: ${id} applied ${formatLogId(logId)}, another node ${formatLogId(c)}`,
      );
  }

  /** Per-node monotonicity of the durable vote (across crashes) and of vote/committed/applied (per incarnation). */
  monotonic(
    id: NodeId,
    inc: number,
    durable: Vote | null,
    vote: Vote,
    committed: LogId | null,
    applied: LogId | null,
  ): void {
    let m = this.#mono.get(id);
    if (m === undefined) {
      m = { durable: null, inc, vote: null, committed: null, applied: null };
      this.#mono.set(id, m);
    }
    if (m.durable !== null && (durable === null || durable.term < m.durable.term)) {
      throw new Violation(
        `${id}: durable vote went back from ${formatVote(m.durable)} to ${durable === null ? '-' : formatVote(durable)}`,
      );
    }
    m.durable = durable;
    if (m.inc !== inc) {
      m.inc = inc;
      m.vote = null;
      m.committed = null;
      m.applied = null;
    }
    if (m.vote !== null && !voteGe(vote, m.vote))
      throw new Violation(`${id}: vote went back from ${formatVote(m.vote)} to ${formatVote(vote)}`);
    if (compareLogId(committed, m.committed) < 0)
      throw new Violation(`${id}: committed went back to ${formatLogId(committed)}`);
    if (compareLogId(applied, m.applied) < 0)
      throw new Violation(`${id}: applied went back to ${formatLogId(applied)}`);
    m.vote = vote;
    m.committed = committed;
    m.applied = applied;
  }
}
