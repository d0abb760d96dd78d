import net from 'node:net';
import tls from 'node:tls';
import { type NodeId, UnreachableError } from '@flotilla/types';
import { newNonce, proof, proofMatches } from './auth.ts';
import { FramedSocket } from './framing.ts';
import {
  type ConnectionKind,
  Frame,
  HandshakeError,
  type HandshakeFailure,
  PROTOCOL_VERSION,
} from './protocol.ts';

/** What a client needs to open one connection. */
export interface DialParams {
  host: string;
  port: number;
  tls: tls.ConnectionOptions | undefined;
  /** The local address to bind the socket to; `undefined`: the OS chooses. */
  localAddress: string | undefined;
  kind: ConnectionKind;
  clusterId: string;
  from: NodeId;
  to: NodeId;
  secret: Uint8Array | undefined;
  maxFrameBytes: number;
  timeoutMs: number;
}

const FAILURES: readonly string[] = ['version', 'cluster', 'target', 'auth', 'protocol', 'timeout'];

/**
 * Opens a connection and runs the client side of the handshake: magic, hello, the server's welcome
 * (whose proof is checked when a secret is set), then our own proof. Resolves with a ready
 * connection; rejects with `UnreachableError` (or its `HandshakeError` subclass).
 */
export function dial(p: DialParams): Promise<FramedSocket> {
  return new Promise<FramedSocket>((resolve, reject) => {
    let settled = false;
    const local = p.localAddress === undefined ? {} : { localAddress: p.localAddress };
    const socket =
      p.tls !== undefined
        ? tls.connect({
            ...p.tls,
            host: p.host,
            port: p.port,
            ...local,
            ...(net.isIP(p.host) === 0 && p.tls.servername === undefined ? { servername: p.host } : {}),
          })
        : net.connect({ host: p.host, port: p.port, ...local });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000); // so a vanished peer's half-open connection is eventually dropped
    const fail = (err: UnreachableError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      framed.onClose = () => {};
      framed.close(undefined);
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new HandshakeError('timeout', `no handshake with ${p.host}:${p.port} in ${p.timeoutMs} ms`)),
      p.timeoutMs,
    );
    const framed = new FramedSocket(socket, p.maxFrameBytes, false);
    framed.onClose = (err) =>
      fail(
        new UnreachableError(
          `cannot connect to ${p.to} at ${p.host}:${p.port}: ${err?.message ?? 'closed'}`,
          {
            cause: err,
          },
        ),
      );
    const clientNonce = p.secret !== undefined ? newNonce() : null;
    socket.once(p.tls !== undefined ? 'secureConnect' : 'connect', () => {
      framed.writeMagic();
      framed.send([Frame.Hello, PROTOCOL_VERSION, p.clusterId, p.from, p.to, p.kind, clientNonce]);
    });
    framed.onFrame = (body) => {
      if (settled) return;
      if (!Array.isArray(body)) return fail(new HandshakeError('protocol', 'malformed handshake frame'));
      if (body[0] === Frame.Reject) {
        const reason = FAILURES.includes(body[1] as string) ? (body[1] as HandshakeFailure) : 'protocol';
        return fail(new HandshakeError(reason, `refused by ${p.to}: ${String(body[2])}`));
      }
      const [tag, version, serverNonce, serverProof] = body;
      if (tag !== Frame.Welcome) return fail(new HandshakeError('protocol', 'expected a welcome'));
      if (version !== PROTOCOL_VERSION)
        return fail(new HandshakeError('version', `peer speaks version ${String(version)}`));
      if (p.secret !== undefined && clientNonce !== null) {
        if (!(serverNonce instanceof Uint8Array))
          return fail(new HandshakeError('auth', 'the server did not authenticate itself'));
        const ctx = {
          clusterId: p.clusterId,
          from: p.from,
          to: p.to,
          kind: p.kind,
          clientNonce,
          serverNonce,
        };
        if (!proofMatches(proof(p.secret, 'server', ctx), serverProof))
          return fail(new HandshakeError('auth', 'the server does not know the shared secret'));
        framed.send([Frame.Auth, proof(p.secret, 'client', ctx)]);
      }
      settled = true;
      clearTimeout(timer);
      framed.onFrame = () => {};
      framed.onClose = () => {};
      resolve(framed);
    };
  });
}
