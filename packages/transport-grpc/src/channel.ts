/**
 * Owns one client channel to one peer (one HTTP/2 connection, from a local subchannel pool) and the
 * session on it: the client half of the handshake, run before the first call on each new connection
 * and again after the connection changed. It never decides which channel a call takes.
 */

import { type Logger, NetworkError, UnreachableError } from '@flotilla/types';
import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  connectivityState,
  Metadata,
  type ServiceError,
  status as Status,
} from '@grpc/grpc-js';
import { NONCE_BYTES, newNonce, proof, proofMatches } from './auth.ts';
import { plainBytes } from './codec.ts';
import {
  type CallStatus,
  type ChannelKind,
  HandshakeError,
  handshakeFailureOf,
  NO_SESSION,
  PROTOCOL_VERSION,
} from './protocol.ts';
import { HandshakeStep, raftService } from './service.ts';

/** What a channel needs to know to run the handshake. */
export interface ChannelConfig {
  /** The cluster id sent in the hello. */
  clusterId: string;
  /** This node's id. */
  from: string;
  /** The target's id. */
  to: string;
  /** What the channel carries. */
  kind: ChannelKind;
  /** The shared secret, if any. */
  secret: Uint8Array | undefined;
  /** Bounds connecting plus the handshake. */
  connectTimeoutMs: number;
  /** Where session events go. */
  logger: Logger;
}

/** A grpc-js client bound to one peer, plus its session state. */
export class PeerChannel {
  /** The grpc-js client: make calls on it after {@link PeerChannel.ready}. */
  readonly client: Client;
  readonly #cfg: ChannelConfig;
  #session: Promise<void> | undefined;
  #generation = 0;
  #closed = false;

  constructor(address: string, creds: ChannelCredentials, options: ChannelOptions, cfg: ChannelConfig) {
    this.client = new Client(address, creds, options);
    this.#cfg = cfg;
  }

  /**
   * Resolves once the channel's current connection carries an authenticated session, running the
   * handshake when it does not. Rejects with `UnreachableError` (a `HandshakeError` when the peer
   * refused or failed the handshake) or `NetworkError` once closed.
   */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new NetworkError('client closed'));
    if (this.#session === undefined) {
      const gen = ++this.#generation;
      const p = this.#handshake(gen);
      p.catch(() => {
        if (this.#session === p) this.#session = undefined;
      });
      this.#session = p;
    }
    return this.#session;
  }

  /** Forgets the session: the next call runs the handshake again (after a lost connection). */
  invalidate(): void {
    this.#session = undefined;
    this.#generation++;
  }

  /** Closes the channel; calls in flight fail. */
  close(): void {
    this.#closed = true;
    this.invalidate();
    this.client.close();
  }

  #handshake(gen: number): Promise<void> {
    const cfg = this.#cfg;
    return new Promise<void>((resolve, reject) => {
      const clientNonce = cfg.secret === undefined ? null : newNonce();
      const m = raftService.handshake;
      const call = this.client.makeBidiStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        new Metadata(),
        { deadline: Date.now() + cfg.connectTimeoutMs },
      );
      let settled = false;
      let welcomed = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        cfg.logger.debug('handshake failed', { target: cfg.to, kind: cfg.kind, error: err.message });
        reject(err);
        call.cancel();
      };
      call.on('error', () => {}); // the status event reports it
      call.on('data', (msg: unknown) => {
        if (settled) return;
        if (!Array.isArray(msg)) return fail(new HandshakeError('protocol', 'malformed handshake message'));
        if (msg[0] === HandshakeStep.Welcome && !welcomed) {
          welcomed = true;
          const [, version, serverNonce, serverProof] = msg;
          if (version !== PROTOCOL_VERSION)
            return fail(new HandshakeError('version', `server speaks version ${String(version)}`));
          if (cfg.secret === undefined || clientNonce === null) return;
          if (!(serverNonce instanceof Uint8Array) || serverNonce.byteLength !== NONCE_BYTES)
            return fail(new HandshakeError('auth', 'the server did not prove the shared secret'));
          const ctx = {
            clusterId: cfg.clusterId,
            from: cfg.from,
            to: cfg.to,
            kind: cfg.kind,
            clientNonce,
            serverNonce: plainBytes(serverNonce),
          };
          if (!proofMatches(proof(cfg.secret, 'server', ctx), serverProof))
            return fail(new HandshakeError('auth', "the server's proof of the shared secret is wrong"));
          call.write([HandshakeStep.Auth, proof(cfg.secret, 'client', ctx)]);
          return;
        }
        if (msg[0] === HandshakeStep.Ready && welcomed) {
          settled = true;
          this.#watch(gen);
          cfg.logger.debug('session ready', { target: cfg.to, kind: cfg.kind });
          resolve();
          call.end();
          return;
        }
        fail(new HandshakeError('protocol', 'unexpected handshake message'));
      });
      call.on('status', (s: CallStatus) => {
        if (settled) return;
        if (s.code === Status.OK) return fail(new HandshakeError('protocol', 'the handshake ended early'));
        const reason = handshakeFailureOf(s);
        if (reason !== undefined) return fail(new HandshakeError(reason, s.details));
        switch (s.code) {
          case Status.DEADLINE_EXCEEDED:
            return fail(
              new UnreachableError(`no session with ${cfg.to} within ${cfg.connectTimeoutMs} ms`, {
                cause: s,
              }),
            );
          case Status.UNAVAILABLE:
          case Status.CANCELLED:
            return fail(new UnreachableError(`cannot reach ${cfg.to}: ${s.details}`, { cause: s }));
          default:
            return fail(
              new HandshakeError('protocol', `not a Flotilla gRPC peer: ${Status[s.code]} ${s.details}`, {
                cause: s,
              }),
            );
        }
      });
      call.write([
        HandshakeStep.Hello,
        PROTOCOL_VERSION,
        cfg.clusterId,
        cfg.from,
        cfg.to,
        cfg.kind,
        clientNonce === null ? null : Buffer.from(clientNonce),
      ]);
    });
  }

  /** Forgets the session of generation `gen` as soon as the channel leaves the state it is in now. */
  #watch(gen: number): void {
    const channel = this.client.getChannel();
    const state = channel.getConnectivityState(false);
    const lost = () => {
      if (this.#generation === gen) this.invalidate();
    };
    if (state !== connectivityState.READY) {
      lost();
      return;
    }
    channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, lost);
  }
}

/** Whether a failed call was refused for want of a session on its connection. */
export function isNoSession(err: unknown): boolean {
  const e = err as Partial<ServiceError> | null;
  return e?.code === Status.UNAUTHENTICATED && e.details?.startsWith(NO_SESSION) === true;
}
