/**
 * @packageDocumentation
 * The gRPC transport of Flotilla, on `@grpc/grpc-js`: a hand-written service whose messages are
 * msgpackr bytes (no protobuf code generation), unary `AppendEntries` / `Vote` / `TransferLeader`, a
 * bidirectional stream for pipelined `streamAppend`, a client stream for snapshots, separate HTTP/2
 * connections for small calls, entries and snapshots, and peer authentication by mutual TLS and/or a
 * shared-secret challenge–response handshake bound to each connection.
 *
 * @example
 * ```ts
 * import { grpcNetwork, grpcServer } from '@flotilla/transport-grpc';
 *
 * // Server side: serve this node's RaftRpcHandler (a Raft instance).
 * const server = grpcServer({ handler: raft, clusterId: 'prod', nodeId: 'a', secret: 's3cret' });
 * await server.listen(7000, '0.0.0.0');
 *
 * // Client side: give the factory to Raft.create({ network, ... }).
 * const network = grpcNetwork({ clusterId: 'prod', nodeId: 'a', secret: 's3cret' });
 * const b = network.newClient('b', { addr: '10.0.0.2:7000' });
 * await b.vote({ vote: { term: 2, nodeId: 'a', committed: false }, lastLogId: null }, { timeoutMs: 200 });
 *
 * await network.close();
 * await server.close();
 * ```
 */
export {
  type GrpcClientTls,
  type GrpcNetworkClient,
  type GrpcNetworkFactory,
  type GrpcNetworkInit,
  grpcNetwork,
} from './client.ts';
export { FrameError } from './errors.ts';
export {
  type ChannelKind,
  DEFAULT_MAX_MESSAGE_BYTES,
  HandshakeError,
  type HandshakeFailure,
  PROTOCOL_VERSION,
} from './protocol.ts';
export { type GrpcServer, type GrpcServerInit, type GrpcServerTls, grpcServer } from './server.ts';
export { SERVICE_NAME } from './service.ts';
export { HTTP2_PREFACE, sniffHttp2 } from './sniff.ts';
