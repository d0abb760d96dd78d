import net from 'node:net';
import { ErrorCode } from '@flotilla/types';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { HandshakeError, PROTOCOL_VERSION, tcpNetwork } from '../src/index.ts';
import { Frame } from '../src/protocol.ts';
import { pair } from './helpers.ts';

const voteReq = { vote: { term: 4, nodeId: 'a', committed: false }, lastLogId: null };

/**
 * An impostor: speaks the protocol but does not know the secret. It answers the hello with a made-up
 * proof and, if the client went on regardless, would grant every vote.
 */
async function impostor(): Promise<{ port: number; requests: number; close: () => void }> {
  const state = { port: 0, requests: 0, close: () => {} };
  const server = net.createServer((s) => {
    const packr = new Packr({ sequential: true, mapsAsObjects: true });
    const unpackr = new Unpackr({ sequential: true, mapsAsObjects: true });
    let buf = Buffer.alloc(0);
    const send = (body: unknown) => {
      const b = packr.pack(body);
      const h = Buffer.alloc(4);
      h.writeUInt32BE(b.byteLength, 0);
      s.write(Buffer.concat([h, b]));
    };
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.byteLength >= 4 && buf[0] === 0xf1) buf = buf.subarray(4);
      while (buf.byteLength >= 4 && buf.byteLength >= 4 + buf.readUInt32BE(0)) {
        const n = buf.readUInt32BE(0);
        const f = unpackr.unpack(buf.subarray(4, 4 + n)) as unknown[];
        buf = buf.subarray(4 + n);
        if (f[0] === Frame.Hello)
          send([Frame.Welcome, PROTOCOL_VERSION, new Uint8Array(32), new Uint8Array(32).fill(1)]);
        if (f[0] === Frame.Request) {
          state.requests++;
          send([Frame.Response, f[1], { vote: voteReq.vote, voteGranted: true, lastLogId: null }]);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = () => server.close();
  return state;
}

describe('shared-secret authentication is mutual', () => {
  it('an impostor server cannot forge answers', async () => {
    const fake = await impostor();
    const network = tcpNetwork({ clusterId: 'test', nodeId: 'a', secret: 'right' });
    try {
      const err = await network
        .newClient('b', { addr: `127.0.0.1:${fake.port}` })
        .vote(voteReq)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HandshakeError);
      expect(err).toMatchObject({ code: ErrorCode.Unreachable, reason: 'auth' });
      expect(fake.requests).toBe(0);
      // Without a secret the same impostor is (knowingly) trusted: the secret is what protects.
      const open = tcpNetwork({ clusterId: 'test', nodeId: 'a' });
      await expect(
        open.newClient('b', { addr: `127.0.0.1:${fake.port}` }).vote(voteReq),
      ).resolves.toMatchObject({
        voteGranted: true,
      });
      await open.close();
    } finally {
      await network.close();
      fake.close();
    }
  });

  it('a client with a secret is refused by a server without one, and the reverse', async () => {
    const p = await pair({}, { secret: 's' });
    try {
      await expect(p.network.newClient('b', { addr: p.addr }).vote(voteReq)).rejects.toMatchObject({
        reason: 'auth',
      });
      expect(p.handler.votes).toHaveLength(0);
    } finally {
      await p.close();
    }
  });

  it('authenticates every connection kind', async () => {
    const p = await pair({ secret: 's' }, { secret: 's' });
    try {
      const c = p.network.newClient('b', { addr: p.addr });
      await c.vote(voteReq);
      async function* none() {}
      for await (const _ of c.streamAppend(none())) throw new Error('no results expected');
      expect(p.handler.votes).toHaveLength(1);
    } finally {
      await p.close();
    }
  });
});
