/**
 * @packageDocumentation
 * The TCP transport of Flotilla: length-prefixed msgpackr frames, a handshake on every connection
 * (protocol version, cluster id, node ids, optional shared-secret mutual authentication), natively
 * pipelined `streamAppend` on a connection per stream, unary calls multiplexed by request id,
 * chunked snapshots, reconnect with back-off and optional TLS.
 *
 * @example
 * ```ts
 * import { tcpNetwork, tcpServer } from '@flotilla/transport-tcp';
 *
 * // Server side: serve this node's RaftRpcHandler (a Raft instance).
 * const server = tcpServer({ handler: raft, clusterId: 'prod', nodeId: 'a', secret: 's3cret' });
 * await server.listen(7000, '0.0.0.0');
 *
 * // Client side: give the factory to Raft.create({ network, ... }).
 * const network = tcpNetwork({ clusterId: 'prod', nodeId: 'a', secret: 's3cret' });
 * const b = network.newClient('b', { addr: '10.0.0.2:7000' });
 * await b.vote({ vote: { term: 2, nodeId: 'a', committed: false }, lastLogId: null }, { timeoutMs: 200 });
 *
 * await network.close();
 * await server.close();
 * ```
 */
export {
  type TcpNetworkClient,
  type TcpNetworkFactory,
  type TcpNetworkInit,
  tcpNetwork,
} from './client.ts';
export { FrameError } from './framing.ts';
export {
  type ConnectionKind,
  DEFAULT_MAX_FRAME_BYTES,
  HandshakeError,
  type HandshakeFailure,
  looksLikeRaft,
  PROTOCOL_VERSION,
  RAFT_MAGIC,
} from './protocol.ts';
export { type TcpServer, type TcpServerInit, tcpServer } from './server.ts';
