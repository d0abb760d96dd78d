import type { Entry } from './entry.ts';
import { InvalidRequestError } from './errors.ts';
import type { LogId } from './log-id.ts';
import type { Membership } from './membership.ts';
import type { AppendEntriesRequest, TransferLeaderRequest, VoteRequest } from './messages.ts';
import type { SnapshotMeta } from './snapshot.ts';
import type { Vote } from './vote.ts';

/**
 * The one set of shape and range checks for messages arriving from a peer. Each returns its (now
 * typed) input or throws `InvalidRequestError` naming the offending path. They check what a message
 * says about itself; whether it fits the receiver's state is the receiver's business.
 *
 * The runtime calls them at its `RaftRpcHandler` boundary, once per message; transports never do
 * (they check framing, size and authentication), so no transport can weaken or duplicate them.
 * Must never depend on the receiver's state or on a transport.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function fail(path: string, message: string): never {
  throw new InvalidRequestError(path, message);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function checkCount(x: unknown, path: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > MAX_SAFE)
    fail(path, 'expected a non-negative integer');
  return x;
}

function checkNodeId(x: unknown, path: string): string {
  if (typeof x !== 'string' || x.length === 0 || x.length > 1024) fail(path, 'expected a non-empty node id');
  return x;
}

/** Checks a `LogId`. */
export function validateLogId(x: unknown, path = 'logId'): LogId {
  if (!isObject(x)) fail(path, 'expected {term, index}');
  checkCount(x.term, `${path}.term`);
  checkCount(x.index, `${path}.index`);
  return x as unknown as LogId;
}

/** Checks a `LogId | null`. */
export function validateOptionalLogId(x: unknown, path = 'logId'): LogId | null {
  return x === null || x === undefined ? null : validateLogId(x, path);
}

/** Checks a `Vote`. */
export function validateVote(x: unknown, path = 'vote'): Vote {
  if (!isObject(x)) fail(path, 'expected {term, nodeId, committed}');
  checkCount(x.term, `${path}.term`);
  if (x.nodeId !== null) checkNodeId(x.nodeId, `${path}.nodeId`);
  if (typeof x.committed !== 'boolean') fail(`${path}.committed`, 'expected a boolean');
  if (x.committed && x.nodeId === null) fail(path, 'a committed vote names its leader');
  return x as unknown as Vote;
}

/** Checks a `Membership` (shape only; `validateMembership` checks its rules). */
export function validateMembershipShape(x: unknown, path = 'membership'): Membership {
  if (!isObject(x)) fail(path, 'expected {configs, nodes}');
  if (!Array.isArray(x.configs) || x.configs.length > 2)
    fail(`${path}.configs`, 'expected one or two configs');
  x.configs.forEach((c: unknown, i: number) => {
    if (!Array.isArray(c) || c.length === 0) fail(`${path}.configs[${i}]`, 'expected a non-empty array');
    const seen = new Set<string>();
    c.forEach((id: unknown, j: number) => {
      const v = checkNodeId(id, `${path}.configs[${i}][${j}]`);
      if (seen.has(v)) fail(`${path}.configs[${i}]`, `duplicate voter ${v}`);
      seen.add(v);
    });
  });
  if (!isObject(x.nodes)) fail(`${path}.nodes`, 'expected an object');
  for (const [id, node] of Object.entries(x.nodes)) {
    if (!isObject(node) || typeof node.addr !== 'string') fail(`${path}.nodes.${id}`, 'expected {addr}');
  }
  for (const c of x.configs as string[][]) {
    for (const id of c) if (!Object.hasOwn(x.nodes, id)) fail(`${path}.nodes`, `voter ${id} has no node`);
  }
  return x as unknown as Membership;
}

/** Checks an `Entry`. */
export function validateEntry(x: unknown, path = 'entry'): Entry {
  if (!isObject(x)) fail(path, 'expected {logId, payload}');
  validateLogId(x.logId, `${path}.logId`);
  const p = x.payload;
  if (!isObject(p)) fail(`${path}.payload`, 'expected an object');
  switch (p.type) {
    case 'blank':
      break;
    case 'normal':
      if (!(p.data instanceof Uint8Array)) fail(`${path}.payload.data`, 'expected bytes');
      if (p.session !== undefined) {
        const s = p.session;
        if (!isObject(s) || typeof s.clientId !== 'string' || s.clientId.length === 0) {
          fail(`${path}.payload.session`, 'expected {clientId, sequence}');
        }
        checkCount(s.sequence, `${path}.payload.session.sequence`);
      }
      break;
    case 'membership':
      validateMembershipShape(p.membership, `${path}.payload.membership`);
      break;
    default:
      fail(`${path}.payload.type`, `unknown payload type ${String(p.type)}`);
  }
  return x as unknown as Entry;
}

/**
 * Checks an `AppendEntriesRequest`: a committed leader vote, entries consecutive from
 * `nextIndex(prevLogId)` with non-decreasing terms no greater than the vote's term and not below
 * `prevLogId`'s term.
 */
export function validateAppendEntriesRequest(x: unknown, path = 'appendEntries'): AppendEntriesRequest {
  if (!isObject(x)) fail(path, 'expected an object');
  const vote = validateVote(x.vote, `${path}.vote`);
  if (!vote.committed) fail(`${path}.vote`, 'AppendEntries must carry a committed vote');
  const prev = validateOptionalLogId(x.prevLogId, `${path}.prevLogId`);
  validateOptionalLogId(x.leaderCommit, `${path}.leaderCommit`);
  if (!Array.isArray(x.entries)) fail(`${path}.entries`, 'expected an array');
  let expectIndex = prev === null ? 0 : prev.index + 1;
  let lastTerm = prev === null ? 0 : prev.term;
  if (prev !== null && prev.term > vote.term) fail(`${path}.prevLogId`, 'term above the leader term');
  x.entries.forEach((e: unknown, i: number) => {
    const entry = validateEntry(e, `${path}.entries[${i}]`);
    if (entry.logId.index !== expectIndex)
      fail(`${path}.entries[${i}].logId.index`, `expected index ${expectIndex}`);
    if (entry.logId.term < lastTerm) fail(`${path}.entries[${i}].logId.term`, 'terms must not decrease');
    if (entry.logId.term > vote.term) fail(`${path}.entries[${i}].logId.term`, 'term above the leader term');
    expectIndex++;
    lastTerm = entry.logId.term;
  });
  return x as unknown as AppendEntriesRequest;
}

/** Checks a `VoteRequest`: an uncommitted vote for a named candidate. */
export function validateVoteRequest(x: unknown, path = 'vote'): VoteRequest {
  if (!isObject(x)) fail(path, 'expected an object');
  const vote = validateVote(x.vote, `${path}.vote`);
  if (vote.nodeId === null) fail(`${path}.vote.nodeId`, 'a vote request names its candidate');
  const last = validateOptionalLogId(x.lastLogId, `${path}.lastLogId`);
  if (last !== null && last.term > vote.term) fail(`${path}.lastLogId`, 'term above the vote term');
  if (x.preVote !== undefined && typeof x.preVote !== 'boolean')
    fail(`${path}.preVote`, 'expected a boolean');
  return x as unknown as VoteRequest;
}

/** Checks a `TransferLeaderRequest`. */
export function validateTransferLeaderRequest(x: unknown, path = 'transferLeader'): TransferLeaderRequest {
  if (!isObject(x)) fail(path, 'expected an object');
  const from = validateVote(x.from, `${path}.from`);
  if (!from.committed) fail(`${path}.from`, 'must be a committed leader vote');
  checkNodeId(x.to, `${path}.to`);
  validateOptionalLogId(x.lastLogId, `${path}.lastLogId`);
  return x as unknown as TransferLeaderRequest;
}

/**
 * Checks what a snapshot transfer starts with: the sender's vote, which must be a committed leader
 * vote, and the snapshot's meta.
 */
export function validateInstallSnapshot(vote: unknown, meta: unknown): { vote: Vote; meta: SnapshotMeta } {
  const v = validateVote(vote, 'vote');
  if (!v.committed) fail('vote', 'a snapshot must carry a committed leader vote');
  return { vote: v, meta: validateSnapshotMeta(meta, 'meta') };
}

/** Checks a `SnapshotMeta`. */
export function validateSnapshotMeta(x: unknown, path = 'meta'): SnapshotMeta {
  if (!isObject(x)) fail(path, 'expected an object');
  validateOptionalLogId(x.lastLogId, `${path}.lastLogId`);
  if (typeof x.snapshotId !== 'string') fail(`${path}.snapshotId`, 'expected a string');
  const sm = x.lastMembership;
  if (!isObject(sm)) fail(`${path}.lastMembership`, 'expected {logId, membership}');
  validateOptionalLogId(sm.logId, `${path}.lastMembership.logId`);
  const m = sm.membership;
  if (!isObject(m)) fail(`${path}.lastMembership.membership`, 'expected an object');
  // An empty membership (no configs) is allowed in a snapshot taken before initialization.
  if (Array.isArray(m.configs) && m.configs.length === 0) {
    if (!isObject(m.nodes)) fail(`${path}.lastMembership.membership.nodes`, 'expected an object');
  } else {
    validateMembershipShape(m, `${path}.lastMembership.membership`);
  }
  return x as unknown as SnapshotMeta;
}
