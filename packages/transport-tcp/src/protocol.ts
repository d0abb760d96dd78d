import { UnreachableError } from '@flotilla/types';

/**
 * The bytes every Flotilla TCP connection starts with, before any frame. The first byte is not
 * printable ASCII and not a TLS record type, so a server sharing its port with HTTP or TLS can tell a
 * Raft peer from the first four bytes (see {@link looksLikeRaft}).
 */
export const RAFT_MAGIC: Uint8Array = Uint8Array.of(0xf1, 0x46, 0x4c, 0x54);

/**
 * The wire protocol version. A peer accepts connections of the same major version only; the handshake
 * carries it so a cluster can be upgraded one node at a time once a new major learns to speak the old.
 */
export const PROTOCOL_VERSION = 1;

/** Default cap of one frame's body, in bytes (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Whether `buf` starts with {@link RAFT_MAGIC}. Needs at least `RAFT_MAGIC.length` bytes; a shorter
 * buffer answers `false` (read more first).
 */
export function looksLikeRaft(buf: Uint8Array): boolean {
  if (buf.byteLength < RAFT_MAGIC.byteLength) return false;
  for (let i = 0; i < RAFT_MAGIC.byteLength; i++) if (buf[i] !== RAFT_MAGIC[i]) return false;
  return true;
}

/**
 * What a connection carries, declared by the client in its hello:
 * - `unary`: small calls multiplexed by request id (votes, pre-votes, transfers, heartbeats);
 * - `bulk`: unary AppendEntries that carry entries, multiplexed by request id, so they never delay
 *   the `unary` connection;
 * - `stream`: one pipelined `streamAppend`;
 * - `snapshot`: one chunked snapshot transfer.
 */
export type ConnectionKind = 'unary' | 'bulk' | 'stream' | 'snapshot';

/** The connection kinds, for validation. */
export const CONNECTION_KINDS: readonly ConnectionKind[] = ['unary', 'bulk', 'stream', 'snapshot'];

/** Frame type tags: the first element of every frame body (an array). */
export const Frame = {
  /** Client → server: `[Hello, version, clusterId, from, to, kind, clientNonce | null]`. */
  Hello: 1,
  /** Server → client: `[Welcome, version, serverNonce | null, serverProof | null]`. */
  Welcome: 2,
  /** Client → server: `[Auth, clientProof]` (only with a shared secret). */
  Auth: 3,
  /** Server → client: `[Reject, reason, message]`; the server then closes. */
  Reject: 4,
  /** Unary request: `[Request, id, method, payload]`. */
  Request: 10,
  /** Unary reply: `[Response, id, payload]`. */
  Response: 11,
  /** Unary failure: `[Failure, id, code | null, message]`. */
  Failure: 12,
  /** Stream request: `[StreamRequest, appendEntriesRequest]`. */
  StreamRequest: 20,
  /** Client → server: no more stream requests. */
  StreamEnd: 21,
  /** Stream reply: `[StreamResult, streamAppendResult]`. */
  StreamResult: 22,
  /** Server → client: the stream finished normally. */
  StreamFinish: 23,
  /** Server → client: `[StreamFailure, code | null, message]`; the stream is over. */
  StreamFailure: 24,
  /** Snapshot header: `[SnapshotHead, vote, meta]`. */
  SnapshotHead: 30,
  /** Snapshot data: `[SnapshotChunk, bytes]`. */
  SnapshotChunk: 31,
  /** Client → server: the snapshot data is complete. */
  SnapshotEnd: 32,
  /** Server → client: `[SnapshotDone, snapshotResponse]`. */
  SnapshotDone: 33,
  /** Server → client: `[SnapshotFailure, code | null, message]`. */
  SnapshotFailure: 34,
} as const;

/** Unary methods. */
export type UnaryMethod = 'append' | 'vote' | 'transfer';

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
  /** The peer broke the handshake protocol (bad magic, unexpected frame, bad fields). */
  | 'protocol'
  /** The handshake did not complete in time. */
  | 'timeout';

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
