/**
 * Safety invariants of the runtime-level simulator, checked after every step: election safety,
 * log matching on the durable logs, state-machine safety, per-node monotonicity, and committed
 * entries present on a quorum of durable logs.
 */
import type { MemoryLogState } from '@flotilla/memory';
import { type Entry, formatLogId, type LogId, type NodeId, type RaftMetrics } from '@flotilla/types';

/** What the checker needs to know of one node at a step. */
export interface NodeView {
  /** The node. */
  id: NodeId;
  /** Its durable log (the live store's durable part, or what its crash left). */
  durable: MemoryLogState;
  /** Its latest metrics, when it runs. */
  metrics: RaftMetrics | null;
}

interface Last {
  incarnation: number;
  term: number;
  vote: { term: number; nodeId: NodeId | null; committed: boolean };
  committed: number;
  applied: number;
}

function fingerprint(e: Entry): string {
  const p = e.payload;
  switch (p.type) {
    case 'blank':
      return 'b';
    case 'normal':
      return `n${Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).toString('hex')}`;
    case 'membership':
      return `m${JSON.stringify(p.membership.configs)}|${Object.keys(p.membership.nodes).sort().join(',')}`;
  }
}

/** Records the first violated invariant; `violation` stays set once something broke. */
export class RuntimeChecker {
  /** The first violation, or null. */
  violation: string | null = null;
  readonly #leaders = new Map<number, NodeId>();
  readonly #applied = new Map<number, string>();
  readonly #facts = new Map<string, string>();
  readonly #checked = new WeakSet<Entry>();
  readonly #last = new Map<NodeId, Last>();
  /** Real time at which each term's leader first reported itself leader. */
  readonly #electedAt = new Map<number, number>();
  readonly #now: () => number;
  /** Recent lease reads `[term, start]`, to measure how close a later election came to them. */
  #leaseReads: [number, number][] = [];
  /**
   * The smallest gap, in ms, between the start of a lease read served as term t's leader and the
   * election of a later term's leader after it (Infinity if none): how close the run came to a
   * lease-read violation (a negative gap is one).
   */
  closestLeaseMs = Number.POSITIVE_INFINITY;

  /** A checker; `now` reads simulated real time. */
  constructor(now: () => number) {
    this.#now = now;
  }

  #fail(msg: string): void {
    if (this.violation === null) this.violation = msg;
  }

  /** Every metrics update of incarnation `incarnation` of `id`: election safety and monotonicity. */
  onMetrics(id: NodeId, incarnation: number, m: RaftMetrics): void {
    // The simulator injects no storage or state-machine faults: a fatal stop is a bug.
    if (m.error !== null) this.#fail(`fatal stop: ${id} stopped with ${m.error.code}: ${m.error.message}`);
    if (m.state === 'Leader') {
      const other = this.#leaders.get(m.currentTerm);
      if (other === undefined) {
        this.#leaders.set(m.currentTerm, id);
        const now = this.#now();
        this.#electedAt.set(m.currentTerm, now);
        this.#leaseReads = this.#leaseReads.filter(([, at]) => at > now - 1000);
        for (const [term, at] of this.#leaseReads)
          if (term < m.currentTerm) this.closestLeaseMs = Math.min(this.closestLeaseMs, now - at);
      } else if (other !== id)
        this.#fail(`election safety: ${other} and ${id} were both leader in term ${m.currentTerm}`);
    }
    const cur: Last = {
      incarnation,
      term: m.currentTerm,
      vote: { term: m.vote.term, nodeId: m.vote.nodeId, committed: m.vote.committed },
      committed: m.committed?.index ?? -1,
      applied: m.lastApplied?.index ?? -1,
    };
    const prev = this.#last.get(id);
    this.#last.set(id, cur);
    if (prev === undefined || prev.incarnation !== incarnation) return;
    if (cur.term < prev.term) this.#fail(`monotonic: ${id} term went ${prev.term} -> ${cur.term}`);
    const pv = prev.vote;
    const v = cur.vote;
    // Votes only grow in their partial order: a higher term, or the same term with a committed vote
    // (a leader's) over an uncommitted one; within a term an uncommitted vote for one node never
    // turns into one for another, and a committed vote never changes.
    const sameTermBad =
      v.term === pv.term &&
      (pv.committed
        ? !v.committed || v.nodeId !== pv.nodeId
        : !v.committed && pv.nodeId !== null && v.nodeId !== pv.nodeId);
    if (v.term < pv.term || sameTermBad) {
      this.#fail(`monotonic: ${id} vote went ${JSON.stringify(pv)} -> ${JSON.stringify(v)}`);
    }
    if (cur.committed < prev.committed)
      this.#fail(`monotonic: ${id} committed went ${prev.committed} -> ${cur.committed}`);
    if (cur.applied < prev.applied)
      this.#fail(`monotonic: ${id} applied went ${prev.applied} -> ${cur.applied}`);
  }

  /**
   * Leader `id` of term `term` served a linearizable read (`policy`) that started at real time `at`:
   * no leader of a later term may have been elected by then (read index: a quorum acknowledged `id`
   * after `at`; lease: voters honour the lease).
   */
  onLinearizableRead(id: NodeId, term: number, at: number, policy: string): void {
    if (policy === 'lease') this.#leaseReads.push([term, at]);
    for (const [t, when] of this.#electedAt) {
      if (t > term && when <= at) {
        if (policy === 'lease') this.closestLeaseMs = Math.min(this.closestLeaseMs, when - at);
        this.#fail(
          `read safety (${policy}): ${id} served a read in term ${term} started at ${at.toFixed(1)} ms, but ${this.#leaders.get(t)} was elected in term ${t} at ${when.toFixed(1)} ms`,
        );
        return;
      }
    }
  }

  /** A node applied `value` at `logId`: the same index must carry the same entry everywhere. */
  onApply(id: NodeId, logId: LogId, value: number): void {
    const fact = `${logId.term}:${value}`;
    const seen = this.#applied.get(logId.index);
    if (seen === undefined) this.#applied.set(logId.index, fact);
    else if (seen !== fact)
      this.#fail(`state-machine safety: ${id} applied ${fact} at index ${logId.index}, another node ${seen}`);
  }

  /** Log matching on the durable logs and committed entries on a quorum of them. */
  checkDurable(views: readonly NodeView[]): void {
    for (const v of views) this.#logMatching(v);
    const byId = new Map(views.map((v) => [v.id, v]));
    for (const v of views) {
      const m = v.metrics;
      if (m === null || m.state !== 'Leader' || m.committed === null) continue;
      const c = m.committed;
      // Everything committed is on a majority of the first config: under a joint config, a quorum
      // of both; under a uniform one that followed a committed joint, a quorum of the new one too.
      const config = m.membership.membership.configs[0] ?? [];
      let have = 0;
      for (const id of config) {
        const d = byId.get(id)?.durable;
        if (d !== undefined && holds(d, c)) have++;
      }
      if (config.length > 0 && have * 2 <= config.length) {
        this.#fail(
          `committed durability: leader ${v.id} committed ${formatLogId(c)} but only ${have} of ${config.length} durable logs of [${config.join(',')}] hold it (${config
            .map((id) => {
              const x = byId.get(id);
              const d = x?.durable;
              const last = d === undefined ? '-' : formatLogId(d.entries.at(-1)?.logId ?? d.lastPurgedLogId);
              const match = m.replication?.[id]?.matching;
              return `${id}: durable ${last}, live last ${x?.metrics?.lastLogIndex ?? '-'}, matching ${match === undefined ? '-' : formatLogId(match)}`;
            })
            .join('; ')})`,
        );
      }
    }
  }

  #logMatching(v: NodeView): void {
    const d = v.durable;
    const es = d.entries;
    for (let k = 0; k < es.length; k++) {
      const e = es[k]!;
      if (this.#checked.has(e)) continue;
      this.#checked.add(e);
      const prevTerm = k > 0 ? es[k - 1]!.logId.term : (d.lastPurgedLogId?.term ?? 'none');
      const expectIndex = (k > 0 ? es[k - 1]!.logId.index : (d.lastPurgedLogId?.index ?? -1)) + 1;
      if (e.logId.index !== expectIndex) {
        this.#fail(`log shape: ${v.id} has ${formatLogId(e.logId)} at position of index ${expectIndex}`);
        continue;
      }
      const key = `${e.logId.index}:${e.logId.term}`;
      const fact = `${prevTerm}|${fingerprint(e)}`;
      const seen = this.#facts.get(key);
      if (seen === undefined) this.#facts.set(key, fact);
      else if (seen !== fact) {
        this.#fail(
          `log matching: ${v.id}'s durable log has ${formatLogId(e.logId)} after term ${prevTerm} (${fact.slice(0, 40)}), another log ${seen.slice(0, 40)}`,
        );
      }
    }
  }
}

/** Whether the durable log `d` holds `c` (or purged past it, behind a snapshot). */
function holds(d: MemoryLogState, c: LogId): boolean {
  if (d.lastPurgedLogId !== null && d.lastPurgedLogId.index >= c.index) return true;
  const first = (d.lastPurgedLogId?.index ?? -1) + 1;
  const e = d.entries[c.index - first];
  return e !== undefined && e.logId.term === c.term;
}
