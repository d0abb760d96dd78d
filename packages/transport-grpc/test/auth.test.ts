import { ErrorCode, type Logger } from '@flotilla/types';
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { grpcNetwork, HandshakeError, PROTOCOL_VERSION } from '../src/index.ts';
import { HandshakeStep, raftService } from '../src/service.ts';
import { pair } from './helpers.ts';

const voteReq = { vote: { term: 4, nodeId: 'a', committed: false }, lastLogId: null };

/**
 * An impostor: serves the same service but does not know the secret. It answers the hello with a
 * made-up proof and grants every vote to whoever calls.
 */
async function impostor(): Promise<{ port: number; votes: number; close: () => void }> {
  const state = { port: 0, votes: 0, close: () => {} };
  const server = new Server();
  server.addService(raftService, {
    handshake: (call: import('@grpc/grpc-js').ServerDuplexStream<unknown, unknown>) => {
      call.on('data', (m: unknown[]) => {
        if (m[0] === HandshakeStep.Hello)
          call.write([
            HandshakeStep.Welcome,
            PROTOCOL_VERSION,
            new Uint8Array(32),
            new Uint8Array(32).fill(1),
          ]);
        if (m[0] === HandshakeStep.Auth) {
          call.write([HandshakeStep.Ready]);
          call.end();
        }
      });
    },
    vote: (_call: unknown, cb: (e: null, r: unknown) => void) => {
      state.votes++;
      cb(null, { vote: voteReq.vote, voteGranted: true, lastLogId: null });
    },
  });
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, port) =>
      e ? reject(e) : resolve(port),
    ),
  );
  state.close = () => server.forceShutdown();
  return state;
}

describe('shared-secret authentication is mutual and bound to the connection', () => {
  it('an impostor server that does not know the secret cannot answer a call', async () => {
    const fake = await impostor();
    const network = grpcNetwork({ clusterId: 'test', nodeId: 'a', secret: 'right' });
    try {
      const err = await network
        .newClient('b', { addr: `127.0.0.1:${fake.port}` })
        .vote(voteReq)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HandshakeError);
      expect(err).toMatchObject({ code: ErrorCode.Unreachable, reason: 'auth' });
      expect(fake.votes).toBe(0);
    } finally {
      await network.close();
      fake.close();
    }
  });

  it('refuses a wrong secret, a missing one, and one the server does not have (both ways)', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
    for (const [serverSecret, clientSecret] of [
      ['s', 'wrong'],
      ['s', undefined],
      [undefined, 's'],
    ] as const) {
      const p = await pair(
        { logger, ...(serverSecret ? { secret: serverSecret } : {}) },
        clientSecret ? { secret: clientSecret } : {},
      );
      try {
        await expect(p.network.newClient('b', { addr: p.addr }).vote(voteReq)).rejects.toMatchObject({
          code: ErrorCode.Unreachable,
          reason: 'auth',
        });
        expect(p.handler.votes).toHaveLength(0);
      } finally {
        await p.close();
      }
    }
    // With a wrong secret the client refuses the server's proof first; the server refused the other two.
    expect(warnings.filter((w) => w.startsWith('handshake refused (auth)'))).toHaveLength(2);
  });

  it('a client that cannot prove the secret is refused by the server', async () => {
    const p = await pair({ secret: 's' });
    const raw = new Client(p.addr, credentials.createInsecure());
    try {
      const m = raftService.handshake;
      const call = raw.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
      call.on('error', () => {});
      call.on('data', (msg: unknown[]) => {
        if (msg[0] === HandshakeStep.Welcome) call.write([HandshakeStep.Auth, new Uint8Array(32).fill(7)]);
      });
      const ended = new Promise<{ code: number; metadata: Metadata }>((r) => call.on('status', r));
      call.write([HandshakeStep.Hello, PROTOCOL_VERSION, 'test', 'a', 'b', 'unary', new Uint8Array(32)]);
      const s = await ended;
      expect(s.code).toBe(status.UNAUTHENTICATED);
      expect(s.metadata.get('flotilla-handshake-reason')).toEqual(['auth']);
    } finally {
      raw.close();
      await p.close();
    }
  });

  it('a wrong cluster id or target is refused with its reason', async () => {
    const p = await pair({ secret: 's' });
    try {
      const other = grpcNetwork({ clusterId: 'other', nodeId: 'a', secret: 's' });
      await expect(other.newClient('b', { addr: p.addr }).vote(voteReq)).rejects.toMatchObject({
        code: ErrorCode.Unreachable,
        reason: 'cluster',
      });
      await expect(other.newClient('zz', { addr: p.addr }).vote(voteReq)).rejects.toMatchObject({
        reason: 'cluster',
      });
      await other.close();
      const lost = grpcNetwork({ clusterId: 'test', nodeId: 'a', secret: 's' });
      await expect(lost.newClient('zz', { addr: p.addr }).vote(voteReq)).rejects.toMatchObject({
        reason: 'target',
      });
      await lost.close();
      expect(p.handler.votes).toHaveLength(0);
    } finally {
      await p.close();
    }
  });

  it('a call on a connection without a handshake is refused, whatever its metadata', async () => {
    const p = await pair({ secret: 's' });
    const raw = new Client(p.addr, credentials.createInsecure());
    try {
      const md = new Metadata();
      md.set('authorization', 'Bearer s');
      const err = await new Promise<ServiceError>((resolve) =>
        raw.makeUnaryRequest(
          raftService.vote.path,
          raftService.vote.requestSerialize,
          raftService.vote.responseDeserialize,
          voteReq,
          md,
          (e) => resolve(e!),
        ),
      );
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(p.handler.votes).toHaveLength(0);
      // A session on one connection does not authorize another: a good client works meanwhile.
      await expect(p.network.newClient('b', { addr: p.addr }).vote(voteReq)).rejects.toMatchObject({
        reason: 'auth',
      });
      const good = grpcNetwork({ clusterId: 'test', nodeId: 'a', secret: 's' });
      await expect(good.newClient('b', { addr: p.addr }).vote(voteReq)).resolves.toMatchObject({
        voteGranted: true,
      });
      await good.close();
    } finally {
      raw.close();
      await p.close();
    }
  });

  it('authenticates every channel kind (unary, entries, snapshot)', async () => {
    const p = await pair({ secret: 's' }, { secret: 's' });
    try {
      const c = p.network.newClient('b', { addr: p.addr });
      await c.vote(voteReq);
      await c.appendEntries({ vote: voteReq.vote, prevLogId: null, entries: [], leaderCommit: null });
      async function* none() {}
      for await (const _ of c.streamAppend(none())) throw new Error('no results expected');
      const meta = {
        lastLogId: null,
        lastMembership: { logId: null, membership: { configs: [['a']], nodes: { a: { addr: 'x' } } } },
        snapshotId: 's1',
      };
      await c.fullSnapshot(voteReq.vote, { meta, data: none() });
      expect(p.server.connections).toBe(3);
      expect(p.handler.votes).toHaveLength(1);
      expect(p.handler.snapshots).toHaveLength(1);
    } finally {
      await p.close();
    }
  });
});
