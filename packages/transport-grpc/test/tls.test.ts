import { ErrorCode } from '@flotilla/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GrpcClientTls, grpcNetwork } from '../src/index.ts';
import { makeCerts, type TestCerts } from './certs.ts';
import { appendReq, collect, pair } from './helpers.ts';

let certs: TestCerts;
beforeAll(() => {
  certs = makeCerts(['ca', 'rogue-ca'], { server: 'ca', client: 'ca', rogue: 'rogue-ca' });
});
afterAll(() => certs.remove());

const serverTls = () => ({
  key: certs.pem('server.key'),
  cert: certs.pem('server.crt'),
  ca: certs.pem('ca.crt'),
});
const voteReq = { vote: { term: 4, nodeId: 'a', committed: false }, lastLogId: null };

describe('mutual TLS', () => {
  it('serves a client with the right certificate on every channel, without a shared secret', async () => {
    const p = await pair(
      { tls: serverTls() },
      { tls: { key: certs.pem('client.key'), cert: certs.pem('client.crt'), ca: certs.pem('ca.crt') } },
    );
    try {
      const c = p.network.newClient('b', { addr: p.addr });
      await expect(c.vote(voteReq)).resolves.toMatchObject({ voteGranted: true });
      await expect(c.appendEntries(appendReq(-1, 5))).resolves.toEqual({ type: 'success' });
      async function* reqs() {
        for (let i = 0; i < 200; i++) yield appendReq(i - 1, 1);
      }
      const results = await collect(c.streamAppend(reqs()));
      expect(results.at(-1)).toEqual({ type: 'matched', matching: { term: 3, index: 199 } });
    } finally {
      await p.close();
    }
  });

  it('refuses a client without a certificate or with one from another CA, and a client refuses an untrusted server', async () => {
    const p = await pair({ tls: serverTls() });
    try {
      const refused: GrpcClientTls[] = [
        { ca: certs.pem('ca.crt') },
        { key: certs.pem('rogue.key'), cert: certs.pem('rogue.crt'), ca: certs.pem('ca.crt') },
        { key: certs.pem('client.key'), cert: certs.pem('client.crt'), ca: certs.pem('rogue-ca.crt') },
      ];
      for (const tls of refused) {
        const n = grpcNetwork({ clusterId: 'test', nodeId: 'a', tls, connectTimeoutMs: 3_000 });
        await expect(n.newClient('b', { addr: p.addr }).vote(voteReq)).rejects.toMatchObject({
          code: ErrorCode.Unreachable,
        });
        await n.close();
      }
      // A plain-text client cannot speak to a TLS server either.
      const plain = grpcNetwork({ clusterId: 'test', nodeId: 'a', connectTimeoutMs: 3_000 });
      await expect(plain.newClient('b', { addr: p.addr }).vote(voteReq)).rejects.toMatchObject({
        code: ErrorCode.Unreachable,
      });
      await plain.close();
      expect(p.handler.votes).toHaveLength(0);
    } finally {
      await p.close();
    }
  });
});
