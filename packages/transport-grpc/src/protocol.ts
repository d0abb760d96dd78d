/**
 * Owns the wire facts of the gRPC transport: the protocol version, the message size cap, the channel
 * kinds, the metadata keys, the handshake failure reasons and how a gRPC status becomes a Flotilla
 * RPC error. It must never do I/O.
 */

import { NetworkError, RemoteError, RpcTimeoutError, UnreachableError } from '@flotilla/types';
import { status as Status, type StatusObject } from '@grpc/grpc-js';

/**
 * The wire protocol version. The service path carries its major (`flotilla.raft.v1`) and the
 * handshake carries it whole, so a peer of another major is refused with a reason.
 */
export const PROTOCOL_VERSION = 1;

/**
 * Default cap of one gRPC message, in bytes (16 MiB). The same value as `DEFAULT_MAX_FRAME_BYTES` of
 * `@flotilla/transport-tcp` (copied, not imported: a transport depends on `@flotilla/types` only), so a
 * request that fits one transport fits the other. grpc-js's own default receive limit is 4 MiB.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * What a client channel carries; each kind has its own HTTP/2 connection (grpc-js channel with a
 * local subchannel pool), so small calls never queue behind entries or snapshots:
 * - `unary`: votes, pre-votes, transfers and heartbeats (AppendEntries without entries);
 * - `entries`: `streamAppend` and unary AppendEntries that carry entries;
 * - `snapshot`: full snapshot transfers.
 */
export type ChannelKind = 'unary' | 'entries' | 'snapshot';

/** The channel kinds, for validation. */
export const CHANNEL_KINDS: readonly ChannelKind[] = ['unary', 'entries', 'snapshot'];

/** Trailer metadata key of a handler error: its Flotilla `code` (empty when it had none). */
export const REMOTE_CODE_KEY = 'flotilla-remote-code';

/** Trailer metadata key of a refused handshake: the {@link HandshakeFailure} reason. */
export const HANDSHAKE_REASON_KEY = 'flotilla-handshake-reason';

/** Prefix of the details of a call refused for want of a handshake on its connection. */
export const NO_SESSION = 'flotilla: no authenticated session on this connection';

/** Why a handshake failed. */
export type HandshakeFailure =
  /** The peer speaks another major protocol version. */
  | 'version'
  /** The peer belongs to another cluster. */
  | 'cluster'
  /** The peer is not the node the client meant to reach. */
  | 'target'
  /** Shared-secret authentication failed (missing on one side, or a wrong proof). */
  | 'auth'
  /** The peer broke the handshake protocol (bad message, unexpected step). */
  | 'protocol'
  /** The handshake did not complete in time. */
  | 'timeout';

/** The handshake failure reasons, for validation. */
export const HANDSHAKE_FAILURES: readonly HandshakeFailure[] = [
  'version',
  'cluster',
  'target',
  'auth',
  'protocol',
  'timeout',
];

/**
 * The handshake with a peer failed. Its `code` is `UNREACHABLE` (callers back off and retry, as for a
 * refused connection); `reason` says why, so operators can tell a misconfiguration from an outage.
 */
export class HandshakeError extends UnreachableError {
  /** Why the handshake failed. */
  readonly reason: HandshakeFailure;
  constructor(reason: HandshakeFailure, message: string, options?: { cause?: unknown }) {
    super(`handshake failed (${reason}): ${message}`, options);
    this.reason = reason;
  }
}

/** The status grpc-js reports for a failed call (a `ServiceError` or a `status` event). */
export type CallStatus = Pick<StatusObject, 'code' | 'details' | 'metadata'>;

function firstString(s: CallStatus, key: string): string | undefined {
  const v = s.metadata?.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Maps a failed call's status to a Flotilla RPC error:
 * - a handler error (the trailer {@link REMOTE_CODE_KEY} is present) → `RemoteError` with its code;
 * - `DEADLINE_EXCEEDED` → `RpcTimeoutError`;
 * - `UNAVAILABLE` before anything was exchanged on this connection → `UnreachableError`, else
 *   `NetworkError` (the request may or may not have been delivered);
 * - anything else (cancelled, too large, internal, unauthenticated) → `NetworkError`.
 */
export function errorFromStatus(s: CallStatus, what: string, connected: boolean): Error {
  const remote = firstString(s, REMOTE_CODE_KEY);
  if (remote !== undefined) return new RemoteError(remote === '' ? null : remote, `remote: ${s.details}`);
  const cause = { cause: s };
  switch (s.code) {
    case Status.DEADLINE_EXCEEDED:
      return new RpcTimeoutError(`${what}: ${s.details}`);
    case Status.UNAVAILABLE:
      return connected
        ? new NetworkError(`${what}: connection lost (${s.details})`, cause)
        : new UnreachableError(`${what}: ${s.details}`, cause);
    case Status.RESOURCE_EXHAUSTED:
      return new NetworkError(`${what}: message over the size limit (${s.details})`, cause);
    default:
      return new NetworkError(`${what}: ${Status[s.code] ?? s.code} ${s.details}`, cause);
  }
}

/** The handshake failure a refused handshake's status carries, if any. */
export function handshakeFailureOf(s: CallStatus): HandshakeFailure | undefined {
  const r = firstString(s, HANDSHAKE_REASON_KEY);
  return HANDSHAKE_FAILURES.includes(r as HandshakeFailure) ? (r as HandshakeFailure) : undefined;
}
