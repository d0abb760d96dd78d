import type { LogId } from '@flotilla/types';
import type { TestLog } from './test-log.ts';

/**
 * A follower's log as a list of terms, answering AppendEntries like Raft §5.3 would: a request
 * whose prev it lacks conflicts; otherwise it takes the entries, cutting a divergent tail.
 */
export class FollowerModel {
  terms: number[];
  constructor(terms: number[]) {
    this.terms = terms;
  }

  has(id: LogId | null): boolean {
    return id === null || this.terms[id.index] === id.term;
  }

  /** Applies `(prev, last]` from `leader`; returns whether it matched (false: conflict on prev). */
  append(leader: TestLog, prev: LogId | null, last: LogId | null): boolean {
    if (!this.has(prev)) return false;
    const from = prev === null ? 0 : prev.index + 1;
    const to = last === null ? -1 : last.index;
    for (let i = from; i <= to; i++) {
      if (this.terms[i] !== leader.at(i).term) {
        this.terms.length = i; // cut the divergent tail
        this.terms.push(leader.at(i).term);
      }
    }
    return true;
  }

  /** Installs a snapshot ending at `last`: the follower's log becomes the leader's prefix up to it. */
  installSnapshot(leader: TestLog, last: LogId | null): void {
    const n = last === null ? 0 : last.index + 1;
    const keepTail = this.has(last) ? this.terms.slice(n) : [];
    this.terms = [...leader.terms.slice(0, n), ...keepTail];
  }

  /** The last index where this log equals `leader`'s (logs match as a prefix), -1 for none. */
  matchPoint(leader: TestLog): number {
    let t = -1;
    const n = Math.min(this.terms.length, leader.terms.length);
    while (t + 1 < n && this.terms[t + 1] === leader.terms[t + 1]) t++;
    return t;
  }
}

/** Random Raft-like logs: non-decreasing terms from 1. */
export function termsFrom(steps: readonly boolean[], startTerm = 1): number[] {
  const out: number[] = [];
  let term = startTerm;
  for (const bump of steps) {
    if (bump) term++;
    out.push(term);
  }
  return out;
}
