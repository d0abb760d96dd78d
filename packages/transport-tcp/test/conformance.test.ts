import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type tls from 'node:tls';
import { type NetworkFixture, type NetworkHarness, networkSuite } from '@flotilla/testkit';
import type { RaftRpcHandler } from '@flotilla/types';
import { afterAll } from 'vitest';
import { type TcpNetworkFactory, type TcpServer, tcpNetwork, tcpServer } from '../src/index.ts';

interface TcpFixture extends NetworkFixture {
  server: TcpServer;
  network: TcpNetworkFactory;
}

function harness(tlsOpts?: () => { server: tls.TlsOptions; client: tls.ConnectionOptions }): NetworkHarness {
  return {
    hostPortAddresses: tcpNetwork({ clusterId: 'c', nodeId: 'a' }),
    async setup(handler: RaftRpcHandler): Promise<TcpFixture> {
      const t = tlsOpts?.();
      const server = tcpServer({
        clusterId: 'conf',
        nodeId: 'b',
        handler,
        secret: 'conformance',
        ...(t ? { tls: t.server } : {}),
      });
      const { port } = await server.listen(0, '127.0.0.1');
      const network = tcpNetwork({
        clusterId: 'conf',
        nodeId: 'a',
        secret: 'conformance',
        ...(t ? { tls: t.client } : {}),
      });
      return {
        server,
        network,
        client: network.newClient('b', { addr: `127.0.0.1:${port}` }),
        stopTarget: () => server.close(),
      };
    },
    async teardown(f: NetworkFixture): Promise<void> {
      const { server, network } = f as TcpFixture;
      await network.close();
      await server.close();
    },
  };
}

networkSuite('transport-tcp (plain TCP, shared secret)', harness());

// TLS: a CA, a server and a client certificate, made at test time and deleted afterwards.
const dir = mkdtempSync(join(tmpdir(), 'flotilla-conf-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let certs: { server: tls.TlsOptions; client: tls.ConnectionOptions } | undefined;
function tlsCerts(): { server: tls.TlsOptions; client: tls.ConnectionOptions } {
  if (certs !== undefined) return certs;
  const ssl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const n of ['server', 'client']) {
    ssl('req', ...ec, '-subj', `/CN=${n}`, '-keyout', `${n}.key`, '-out', `${n}.csr`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${n}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      `${n}.crt`,
    );
  }
  const f = (n: string) => readFileSync(join(dir, n));
  certs = {
    server: {
      key: f('server.key'),
      cert: f('server.crt'),
      ca: f('ca.crt'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    client: { key: f('client.key'), cert: f('client.crt'), ca: f('ca.crt') },
  };
  return certs;
}

networkSuite('transport-tcp (TLS, mutual auth)', harness(tlsCerts));
