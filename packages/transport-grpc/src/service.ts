/**
 * Owns the gRPC service definition, written by hand (no .proto, no code generation): method paths,
 * call shapes and the serializers that turn messages into msgpackr bytes. Client and server both use
 * this one object, so a path or a codec cannot differ between them. It must never do I/O.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { decodeMessage, encodeMessage } from './codec.ts';

/** The service name; its `v1` is the protocol's major version. */
export const SERVICE_NAME = 'flotilla.raft.v1.Raft';

const msg = { serialize: encodeMessage, deserialize: decodeMessage };
const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };

function method<Req, Res>(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
  req: { serialize: (v: Req) => Buffer; deserialize: (b: Buffer) => Req },
  res: { serialize: (v: Res) => Buffer; deserialize: (b: Buffer) => Res },
): MethodDefinition<Req, Res> {
  return {
    path: `/${SERVICE_NAME}/${name}`,
    originalName: name,
    requestStream,
    responseStream,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  };
}

/**
 * The Raft service:
 * - `Handshake` (bidirectional): hello → welcome → auth → ready; binds an authenticated session to
 *   the HTTP/2 connection it ran on (see `server.ts`).
 * - `AppendEntries`, `Vote`, `TransferLeader` (unary): one msgpackr message each way.
 * - `StreamAppend` (bidirectional): requests flow without waiting for replies, replies are cumulative
 *   watermarks; messages are raw bytes here because each call has its own `sequential` codec.
 * - `InstallSnapshot` (client stream): a head `[0, vote, meta]`, then chunks `[1, bytes]`; one reply.
 */
export const raftService = {
  handshake: method<unknown, unknown>('Handshake', true, true, msg, msg),
  appendEntries: method<unknown, unknown>('AppendEntries', false, false, msg, msg),
  vote: method<unknown, unknown>('Vote', false, false, msg, msg),
  transferLeader: method<unknown, unknown>('TransferLeader', false, false, msg, msg),
  streamAppend: method<Buffer, Buffer>('StreamAppend', true, true, raw, raw),
  installSnapshot: method<unknown, unknown>('InstallSnapshot', true, false, msg, msg),
} as const satisfies ServiceDefinition;

/** Snapshot message tags: the first element of each `InstallSnapshot` request message. */
export const SnapshotPart = {
  /** `[Head, vote, meta]`, first and once. */
  Head: 0,
  /** `[Chunk, bytes]`. */
  Chunk: 1,
} as const;

/** Handshake message tags: the first element of each `Handshake` message. */
export const HandshakeStep = {
  /** Client → server: `[Hello, version, clusterId, from, to, kind, clientNonce | null]`. */
  Hello: 1,
  /** Server → client: `[Welcome, version, serverNonce | null, serverProof | null]`. */
  Welcome: 2,
  /** Client → server: `[Auth, clientProof]` (only with a shared secret). */
  Auth: 3,
  /** Server → client: `[Ready]`: the session is bound; the server then ends the call. */
  Ready: 4,
} as const;
