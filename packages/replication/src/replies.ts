/**
 * Checks of the replies a target sends: the one place the leader side validates a peer's answer to
 * AppendEntries (unary, pipelined, heartbeats) and to a snapshot transfer.
 *
 * Owns: the shape each reply must have. Must never: trust a transport to have checked anything (a
 * third-party transport may hand over whatever arrived), or return a value it did not check. A
 * malformed reply throws `InvalidRequestError` (code `INVALID_REQUEST`): the stream reports it as a
 * transport error and the engine retries after the back-off; it never reaches the engine.
 */
import {
  type AppendEntriesResponse,
  InvalidRequestError,
  type SnapshotResponse,
  type StreamAppendResult,
  validateLogId,
  validateOptionalLogId,
  validateVote,
} from '@flotilla/types';

function objectOf(x: unknown, path: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null) throw new InvalidRequestError(path, 'expected an object');
  return x as Record<string, unknown>;
}

/** Checks a target's `AppendEntriesResponse`. */
export function checkAppendEntriesResponse(
  x: unknown,
  path = 'appendEntriesResponse',
): AppendEntriesResponse {
  const r = objectOf(x, path);
  switch (r.type) {
    case 'success':
      return { type: 'success' };
    case 'conflict':
      return { type: 'conflict' };
    case 'partialSuccess':
      return { type: 'partialSuccess', matching: validateOptionalLogId(r.matching, `${path}.matching`) };
    case 'higherVote':
      return { type: 'higherVote', vote: validateVote(r.vote, `${path}.vote`) };
    default:
      throw new InvalidRequestError(`${path}.type`, `unknown reply type ${JSON.stringify(r.type)}`);
  }
}

/** Checks one result of a target's `streamAppend`. */
export function checkStreamAppendResult(x: unknown, path = 'streamAppendResult'): StreamAppendResult {
  const r = objectOf(x, path);
  switch (r.type) {
    case 'matched':
      return { type: 'matched', matching: validateOptionalLogId(r.matching, `${path}.matching`) };
    case 'conflict':
      return { type: 'conflict', logId: validateLogId(r.logId, `${path}.logId`) };
    case 'higherVote':
      return { type: 'higherVote', vote: validateVote(r.vote, `${path}.vote`) };
    default:
      throw new InvalidRequestError(`${path}.type`, `unknown result type ${JSON.stringify(r.type)}`);
  }
}

/** Checks a target's `SnapshotResponse`. */
export function checkSnapshotResponse(x: unknown, path = 'snapshotResponse'): SnapshotResponse {
  const r = objectOf(x, path);
  return { vote: validateVote(r.vote, `${path}.vote`) };
}
