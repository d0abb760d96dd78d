import { ErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { tcpNetwork } from './client.ts';

const vote = { vote: { term: 1, nodeId: 'a', committed: false }, lastLogId: null };

describe('tcpNetwork().validateAddress (host:port cases: the conformance suite)', () => {
  const network = tcpNetwork({ clusterId: 'c', nodeId: 'a' });

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
