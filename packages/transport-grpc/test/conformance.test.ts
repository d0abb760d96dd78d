import { type NetworkFixture, type NetworkHarness, networkSuite } from '@flotilla/testkit';
import type { RaftRpcHandler } from '@flotilla/types';
import { afterAll } from 'vitest';
import {
  type GrpcClientTls,
  type GrpcNetworkFactory,
  type GrpcServer,
  type GrpcServerTls,
  grpcNetwork,
  grpcServer,
} from '../src/index.ts';
import { makeCerts, type TestCerts } from './certs.ts';

interface GrpcFixture extends NetworkFixture {
  server: GrpcServer;
  network: GrpcNetworkFactory;
}

function harness(tls?: () => { server: GrpcServerTls; client: GrpcClientTls }): NetworkHarness {
  return {
    hostPortAddresses: grpcNetwork({ clusterId: 'c', nodeId: 'a' }),
    async setup(handler: RaftRpcHandler): Promise<GrpcFixture> {
      const t = tls?.();
      const server = grpcServer({
        clusterId: 'conf',
        nodeId: 'b',
        handler,
        secret: 'conformance',
        ...(t ? { tls: t.server } : {}),
      });
      const { port } = await server.listen(0, '127.0.0.1');
      const network = grpcNetwork({
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
      const { server, network } = f as GrpcFixture;
      await network.close();
      await server.close();
    },
  };
}

networkSuite('transport-grpc (h2c, shared secret)', harness());

// Mutual TLS: a CA, a server and a client certificate, made at test time (once) and deleted afterwards.
let certs: TestCerts | undefined;
afterAll(() => certs?.remove());
function tlsCerts(): { server: GrpcServerTls; client: GrpcClientTls } {
  certs ??= makeCerts(['ca'], { server: 'ca', client: 'ca' });
  const pem = certs.pem;
  return {
    server: { key: pem('server.key'), cert: pem('server.crt'), ca: pem('ca.crt'), requireClientCert: true },
    client: { key: pem('client.key'), cert: pem('client.crt'), ca: pem('ca.crt') },
  };
}

networkSuite('transport-grpc (mutual TLS, shared secret)', harness(tlsCerts));
