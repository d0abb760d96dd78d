/**
 * The one set of shape and range checks for messages arriving from a peer. Each returns its (now
 * typed) input or throws `InvalidRequestError` naming the offending path. They check what a message
 * says about itself; whether it fits the receiver's state is the receiver's business.
 *
 * The runtime calls them at its `RaftRpcHandler` boundary, once per message; transports never do
 * (they check framing, size and authentication), so no transport can weaken or duplicate them.
 * Must never depend on the receiver's state or on a transport.
 */
import type { Entry } from './entry.ts';
import { InvalidRequestError } from './errors.ts';
import type { LogId } from './log-id.ts';
import type { Membership } from './membership.ts';
import type {
  AppendEntriesRequest,
  AppendEntriesResponse,
  SnapshotResponse,
  StreamAppendResult,
  TransferLeaderRequest,
  VoteRequest,
  VoteResponse,
} from './messages.ts';
import type { SnapshotMeta } from './snapshot.ts';
import type { Vote } from './vote.ts';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function fail(path: string, message: string): never {
  throw new InvalidRequestError(path, message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkCount(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SAFE)
    fail(path, 'expected a non-negative integer');
  return value;
}

function checkNodeId(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024)
    fail(path, 'expected a non-empty node id');
  return value;
}

/** Checks a `LogId`. */
export function validateLogId(value: unknown, path = 'logId'): LogId {
  if (!isObject(value)) fail(path, 'expected {term, index}');
  checkCount(value.term, `${path}.term`);
  checkCount(value.index, `${path}.index`);
  return value as unknown as LogId;
}

/** Checks a `LogId | null`. */
export function validateOptionalLogId(value: unknown, path = 'logId'): LogId | null {
  return value === null || value === undefined ? null : validateLogId(value, path);
}

/** Checks a `Vote`. */
export function validateVote(value: unknown, path = 'vote'): Vote {
  if (!isObject(value)) fail(path, 'expected {term, nodeId, committed}');
  checkCount(value.term, `${path}.term`);
  if (value.nodeId !== null) checkNodeId(value.nodeId, `${path}.nodeId`);
  if (typeof value.committed !== 'boolean') fail(`${path}.committed`, 'expected a boolean');
  if (value.committed && value.nodeId === null) fail(path, 'a committed vote names its leader');
  return value as unknown as Vote;
}

/** Checks a `Membership` (shape only; `validateMembership` checks its rules). */
export function validateMembershipShape(value: unknown, path = 'membership'): Membership {
  if (!isObject(value)) fail(path, 'expected {configs, nodes}');
  if (!Array.isArray(value.configs) || value.configs.length > 2)
    fail(`${path}.configs`, 'expected one or two configs');
  value.configs.forEach((c: unknown, i: number) => {
    if (!Array.isArray(c) || c.length === 0) fail(`${path}.configs[${i}]`, 'expected a non-empty array');
    const seen = new Set<string>();
    c.forEach((id: unknown, j: number) => {
      const v = checkNodeId(id, `${path}.configs[${i}][${j}]`);
      if (seen.has(v)) fail(`${path}.configs[${i}]`, `duplicate voter ${v}`);
      seen.add(v);
    });
  });
  if (!isObject(value.nodes)) fail(`${path}.nodes`, 'expected an object');
  for (const [id, node] of Object.entries(value.nodes)) {
    if (!isObject(node) || typeof node.addr !== 'string') fail(`${path}.nodes.${id}`, 'expected {addr}');
  }
  for (const c of value.configs as string[][]) {
    for (const id of c) if (!Object.hasOwn(value.nodes, id)) fail(`${path}.nodes`, `voter ${id} has no node`);
  }
  return value as unknown as Membership;
}

/** Checks an `Entry`. */
export function validateEntry(value: unknown, path = 'entry'): Entry {
  if (!isObject(value)) fail(path, 'expected {logId, payload}');
  validateLogId(value.logId, `${path}.logId`);
  const p = value.payload;
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
  return value as unknown as Entry;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_SAFE;
}

/**
 * `value` as an entry if it is a well-formed blank or normal entry without a session (the hot path
 * of every AppendEntries), else `null`: {@link validateEntry} then checks it and names what is wrong.
 */
function plainEntry(value: unknown): Entry | null {
  if (!isObject(value)) return null;
  const id = value.logId;
  if (!isObject(id) || !isCount(id.term) || !isCount(id.index)) return null;
  const p = value.payload;
  if (!isObject(p)) return null;
  if (p.type === 'normal' ? p.data instanceof Uint8Array && p.session === undefined : p.type === 'blank')
    return value as unknown as Entry;
  return null;
}

/**
 * Checks an `AppendEntriesRequest`: a committed leader vote, entries consecutive from
 * `nextIndex(prevLogId)` with non-decreasing terms no greater than the vote's term and not below
 * `prevLogId`'s term.
 */
export function validateAppendEntriesRequest(value: unknown, path = 'appendEntries'): AppendEntriesRequest {
  if (!isObject(value)) fail(path, 'expected an object');
  const vote = validateVote(value.vote, `${path}.vote`);
  if (!vote.committed) fail(`${path}.vote`, 'AppendEntries must carry a committed vote');
  const prev = validateOptionalLogId(value.prevLogId, `${path}.prevLogId`);
  validateOptionalLogId(value.leaderCommit, `${path}.leaderCommit`);
  if (!Array.isArray(value.entries)) fail(`${path}.entries`, 'expected an array');
  let expectIndex = prev === null ? 0 : prev.index + 1;
  let lastTerm = prev === null ? 0 : prev.term;
  if (prev !== null && prev.term > vote.term) fail(`${path}.prevLogId`, 'term above the leader term');
  value.entries.forEach((e: unknown, i: number) => {
    // The common entry is checked without building its error paths; anything else gets them.
    const entry = plainEntry(e) ?? validateEntry(e, `${path}.entries[${i}]`);
    if (entry.logId.index !== expectIndex)
      fail(`${path}.entries[${i}].logId.index`, `expected index ${expectIndex}`);
    if (entry.logId.term < lastTerm) fail(`${path}.entries[${i}].logId.term`, 'terms must not decrease');
    if (entry.logId.term > vote.term) fail(`${path}.entries[${i}].logId.term`, 'term above the leader term');
    expectIndex++;
    lastTerm = entry.logId.term;
  });
  return value as unknown as AppendEntriesRequest;
}

/** Checks a `VoteRequest`: an uncommitted vote for a named candidate. */
export function validateVoteRequest(value: unknown, path = 'vote'): VoteRequest {
  if (!isObject(value)) fail(path, 'expected an object');
  const vote = validateVote(value.vote, `${path}.vote`);
  if (vote.nodeId === null) fail(`${path}.vote.nodeId`, 'a vote request names its candidate');
  const last = validateOptionalLogId(value.lastLogId, `${path}.lastLogId`);
  if (last !== null && last.term > vote.term) fail(`${path}.lastLogId`, 'term above the vote term');
  if (value.preVote !== undefined && typeof value.preVote !== 'boolean')
    fail(`${path}.preVote`, 'expected a boolean');
  return value as unknown as VoteRequest;
}

/** Checks a `TransferLeaderRequest`. */
export function validateTransferLeaderRequest(
  value: unknown,
  path = 'transferLeader',
): TransferLeaderRequest {
  if (!isObject(value)) fail(path, 'expected an object');
  const from = validateVote(value.from, `${path}.from`);
  if (!from.committed) fail(`${path}.from`, 'must be a committed leader vote');
  checkNodeId(value.to, `${path}.to`);
  validateOptionalLogId(value.lastLogId, `${path}.lastLogId`);
  return value as unknown as TransferLeaderRequest;
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
export function validateSnapshotMeta(value: unknown, path = 'meta'): SnapshotMeta {
  if (!isObject(value)) fail(path, 'expected an object');
  validateOptionalLogId(value.lastLogId, `${path}.lastLogId`);
  if (typeof value.snapshotId !== 'string') fail(`${path}.snapshotId`, 'expected a string');
  const sm = value.lastMembership;
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
  return value as unknown as SnapshotMeta;
}

// Answers from a peer: the runtime checks them with these before acting on them, like requests.

/** Checks a `VoteResponse`. */
export function validateVoteResponse(value: unknown, path = 'voteResponse'): VoteResponse {
  if (!isObject(value)) fail(path, 'expected an object');
  validateVote(value.vote, `${path}.vote`);
  if (typeof value.voteGranted !== 'boolean') fail(`${path}.voteGranted`, 'expected a boolean');
  validateOptionalLogId(value.lastLogId, `${path}.lastLogId`);
  return value as unknown as VoteResponse;
}

/** Checks an `AppendEntriesResponse`: one of its four outcomes, with its fields. */
export function validateAppendEntriesResponse(
  value: unknown,
  path = 'appendEntriesResponse',
): AppendEntriesResponse {
  if (!isObject(value)) fail(path, 'expected an object');
  switch (value.type) {
    case 'success':
    case 'conflict':
      break;
    case 'partialSuccess':
      validateOptionalLogId(value.matching, `${path}.matching`);
      break;
    case 'higherVote':
      validateVote(value.vote, `${path}.vote`);
      break;
    default:
      fail(`${path}.type`, `unknown outcome ${String(value.type)}`);
  }
  return value as unknown as AppendEntriesResponse;
}

/** Checks a `StreamAppendResult`. */
export function validateStreamAppendResult(value: unknown, path = 'streamAppendResult'): StreamAppendResult {
  if (!isObject(value)) fail(path, 'expected an object');
  switch (value.type) {
    case 'matched':
      validateOptionalLogId(value.matching, `${path}.matching`);
      break;
    case 'conflict':
      validateLogId(value.logId, `${path}.logId`);
      break;
    case 'higherVote':
      validateVote(value.vote, `${path}.vote`);
      break;
    default:
      fail(`${path}.type`, `unknown result ${String(value.type)}`);
  }
  return value as unknown as StreamAppendResult;
}

/** Checks a `SnapshotResponse`. */
export function validateSnapshotResponse(value: unknown, path = 'snapshotResponse'): SnapshotResponse {
  if (!isObject(value)) fail(path, 'expected an object');
  validateVote(value.vote, `${path}.vote`);
  return value as unknown as SnapshotResponse;
}
