/**
 * Owns the vote: what it is (a promise at a term to follow a node; committed, it names the leader),
 * its partial order and the one equality check (`voteEquals`). Must never total-order votes: two
 * votes for different nodes at the same term and commitment are incomparable.
 */
import type { NodeId } from './node.ts';

/**
 * A vote: a node's promise, at `term`, to follow `nodeId`. Once a quorum granted it, the candidate
 * saves it as `committed`: a committed vote identifies the leader of that term.
 */
export interface Vote {
  /** The term. Non-negative integer. */
  term: number;
  /** The node voted for, or `null` before any vote in this term. */
  nodeId: NodeId | null;
  /** Whether a quorum granted this vote, making `nodeId` the leader of `term`. */
  committed: boolean;
}

/** The vote a node starts with: term 0, no one voted for. */
export function initialVote(): Vote {
  return { term: 0, nodeId: null, committed: false };
}

/**
 * Compares two votes under their partial order: a higher term wins; in the same term a committed
 * vote wins over an uncommitted one; then a vote for somebody wins over a vote for nobody; two votes
 * for different nodes at the same term and commitment are incomparable (`null`).
 * Returns -1, 0, 1 or `null` (incomparable).
 */
export function compareVote(a: Vote, b: Vote): -1 | 0 | 1 | null {
  if (a.term !== b.term) return a.term < b.term ? -1 : 1;
  if (a.committed !== b.committed) return a.committed ? 1 : -1;
  if (a.nodeId === b.nodeId) return 0;
  if (a.nodeId === null) return -1;
  if (b.nodeId === null) return 1;
  return null;
}

/** `a >= b` under the partial order of votes (false when incomparable). */
export function voteGe(a: Vote, b: Vote): boolean {
  const c = compareVote(a, b);
  return c !== null && c >= 0;
}

/** `a > b` under the partial order of votes (false when incomparable). */
export function voteGt(a: Vote, b: Vote): boolean {
  return compareVote(a, b) === 1;
}

/** Whether two votes are equal. */
export function voteEquals(a: Vote, b: Vote): boolean {
  return compareVote(a, b) === 0;
}

/** The leader a vote identifies: its node when committed, `null` otherwise. */
export function leaderOf(vote: Vote): NodeId | null {
  return vote.committed ? vote.nodeId : null;
}

/** Renders a vote as `T-N:c` / `T-N:u` for logs and error messages. */
export function formatVote(vote: Vote): string {
  return `${vote.term}-${vote.nodeId ?? '∅'}:${vote.committed ? 'c' : 'u'}`;
}
