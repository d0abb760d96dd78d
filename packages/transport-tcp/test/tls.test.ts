import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@flotilla/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpNetwork } from '../src/index.ts';
import { appendReq, pair } from './helpers.ts';

// Certificates are made at test time in a temp dir and deleted afterwards; no key is committed.
let dir: string;
const pem = (name: string) => readFileSync(join(dir, name));

function openssl(...args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'ignore' });
}

function makeCa(name: string): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
  );
}

function makeLeaf(name: string, ca: string): void {
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  );
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-tls-'));
  makeCa('ca');
  makeCa('rogue-ca');
  makeLeaf('server', 'ca');
  makeLeaf('client', 'ca');
  makeLeaf('rogue', 'rogue-ca');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function serverTls() {
  return {
    key: pem('server.key'),
    cert: pem('server.crt'),
    ca: pem('ca.crt'),
    requestCert: true,
    rejectUnauthorized: true,
  };
}

describe('TLS with mutual authentication', () => {
  it('serves a client with the right certificate, on every connection kind', async () => {
    const p = await pair(
      { tls: serverTls() },
      { tls: { key: pem('client.key'), cert: pem('client.crt'), ca: pem('ca.crt') } },
    );
    try {
      const c = p.network.newClient('b', { addr: p.addr });
      await expect(
        c.vote({ vote: { term: 4, nodeId: 'a', committed: false }, lastLogId: null }),
      ).resolves.toMatchObject({
        voteGranted: true,
      });
      await expect(c.appendEntries(appendReq(-1, 5))).resolves.toEqual({ type: 'success' });
      async function* reqs() {
        for (let i = 0; i < 200; i++) yield appendReq(i - 1, 1);
      }
      let last: unknown;
      for await (const r of c.streamAppend(reqs())) last = r;
      expect(last).toEqual({ type: 'matched', matching: { term: 3, index: 199 } });
    } finally {
      await p.close();
    }
  });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    const p = await pair({ tls: serverTls() });
    try {
      const req = { vote: { term: 4, nodeId: 'a', committed: false }, lastLogId: null };
      for (const tls of [
        { ca: pem('ca.crt') },
        { key: pem('rogue.key'), cert: pem('rogue.crt'), ca: pem('ca.crt') },
      ]) {
        const n = tcpNetwork({ clusterId: 'test', nodeId: 'a', tls });
        await expect(n.newClient('b', { addr: p.addr }).vote(req)).rejects.toMatchObject({
          code: ErrorCode.Unreachable,
        });
        await n.close();
      }
      expect(p.handler.votes).toHaveLength(0);
      // A client that does not trust the server's CA refuses it too.
      const n = tcpNetwork({
        clusterId: 'test',
        nodeId: 'a',
        tls: { key: pem('client.key'), cert: pem('client.crt'), ca: pem('rogue-ca.crt') },
      });
      await expect(n.newClient('b', { addr: p.addr }).vote(req)).rejects.toMatchObject({
        code: ErrorCode.Unreachable,
      });
      await n.close();
    } finally {
      await p.close();
    }
  });
});
