import { ErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { tcpNetwork } from './client.ts';

const vote = { vote: { term: 1, nodeId: 'a', committed: false }, lastLogId: null };

describe('tcpNetwork().validateAddress', () => {
  const network = tcpNetwork({ clusterId: 'c', nodeId: 'a' });

  it('accepts host:port with a host name, IPv4 or bracketed IPv6 and a port in 1–65535', () => {
    for (const addr of ['10.0.0.2:7000', 'localhost:1', 'node-b.svc.local:65535', '[::1]:7000'])
      expect(network.validateAddress({ addr }), addr).toBeNull();
  });

  it('refuses, with a reason, what it could never dial', () => {
    expect(network.validateAddress({ addr: 'localhost' })).toBe(
      '"localhost" has no port: expected host:port, e.g. "localhost:7000"',
    );
    expect(network.validateAddress({ addr: '' })).toMatch(/empty/);
    expect(network.validateAddress({ addr: 'a host:7000' })).toMatch(/whitespace/);
    expect(network.validateAddress({ addr: 'localhost:0' })).toMatch(/port 0 is not in 1–65535/);
    expect(network.validateAddress({ addr: 'localhost:99999' })).toMatch(/port 99999 is not in 1–65535/);
    expect(network.validateAddress({ addr: '::1:7000' })).toMatch(/brackets/);
  });

  it('leaves addresses to a resolve of your own', () => {
    const custom = tcpNetwork({
      clusterId: 'c',
      nodeId: 'a',
      resolve: () => ({ host: '127.0.0.1', port: 1 }),
    });
    expect(custom.validateAddress({ addr: 'node-b' })).toBeNull();
  });

  it('a client to an unusable address fails as unreachable, saying why', async () => {
    const b = network.newClient('b', { addr: 'localhost' });
    const err = await b.vote(vote, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Unreachable });
    expect((err as Error).message).toMatch(/node b has no usable address: "localhost" has no port/);
    await network.close();
  });
});
