import net from 'node:net';
import { grpcNetwork, HTTP2_PREFACE } from '@flotilla/transport-grpc';
import { RAFT_MAGIC, tcpNetwork } from '@flotilla/transport-tcp';
import { describe, expect, it } from 'vitest';
import { KV_TRANSPORTS, type KvTransport } from '../src/node.ts';
import { tempCluster, transportArgs } from './helpers.ts';

/** What each transport's Raft side gets on the shared port: its opening bytes, then garbage. */
const RAFT_GARBAGE: Record<KvTransport, { opening: Uint8Array; garbage: Uint8Array }> = {
  tcp: { opening: RAFT_MAGIC, garbage: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3) },
  // A frame header announcing 16 MiB of a frame type that does not exist, then junk.
  grpc: { opening: HTTP2_PREFACE, garbage: Uint8Array.of(0xff, 0xff, 0xff, 0xee, 0, 0, 0, 0, 1, 2, 3) },
};

/** A Raft client of another cluster (`clusterId` differs): the node must refuse it. */
function strangerNetwork(transport: KvTransport) {
  const init = { clusterId: 'not-flotilla-kv', nodeId: '99' };
  return transport === 'grpc' ? grpcNetwork({ ...init, connectTimeoutMs: 2000 }) : tcpNetwork(init);
}

function rawExchange(addr: string, bytes: Uint8Array, waitMs = 300): Promise<string> {
  const [host, port] = addr.split(':') as [string, string];
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host, () => s.write(bytes));
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
    });
    s.on('error', () => {});
    const t = setTimeout(() => s.destroy(), waitMs);
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
  });
}

describe.each(KV_TRANSPORTS)('bad input against a real node (%s transport)', (transport) => {
  it('answers 4xx JSON errors, survives garbage on the shared port and keeps serving', async () => {
    const { cluster, cleanup } = await tempCluster(1, transportArgs(transport));
    try {
      const addr = cluster.addr(1);
      const c = cluster.client();
      const base = `http://${addr}`;
      expect(await c.call(addr, '/init', [])).toEqual({ status: 200, body: { Ok: null } });
      await c.waitForLeader(30_000);

      const malformed = await fetch(`${base}/write`, { method: 'POST', body: '{"Set":{' });
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ Err: { InvalidJson: {} } });
      const wrongType = await c.call(addr, '/write', { Set: { key: 'k', value: 7 } });
      expect(wrongType).toMatchObject({
        status: 400,
        body: { Err: { InvalidRequest: { path: '$.Set.value' } } },
      });
      expect((await c.call(addr, '/no-such-route')).status).toBe(404);
      const big = await fetch(`${base}/write`, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) });
      expect(big.status).toBe(413);

      // Neither HTTP nor Raft; the transport's opening followed by garbage; its first byte then
      // silence; the other transport's opening (plain bytes to this node).
      const { opening, garbage } = RAFT_GARBAGE[transport];
      await rawExchange(addr, new TextEncoder().encode('\x00\x01\x02 hello\r\n\r\n'));
      await rawExchange(addr, Uint8Array.of(...opening, ...garbage));
      await rawExchange(addr, Uint8Array.of(opening[0] as number));
      await rawExchange(addr, Uint8Array.of(...opening.subarray(0, 10)));
      const other = transport === 'tcp' ? RAFT_GARBAGE.grpc : RAFT_GARBAGE.tcp;
      await rawExchange(addr, Uint8Array.of(...other.opening, ...other.garbage));
      const notHttp = await rawExchange(addr, new TextEncoder().encode('GET\r\n\r\n'));
      expect(notHttp).toMatch(/^HTTP\/1\.1 400/);

      // A well-formed Raft client of another cluster is refused, and nothing reaches Raft.
      const stranger = strangerNetwork(transport);
      try {
        const vote = { vote: { term: 99, nodeId: '99', committed: false }, lastLogId: null };
        const refused = await stranger
          .newClient('1', { addr })
          .vote(vote, { timeoutMs: 3000 })
          .then(
            () => 'accepted',
            (e: { code?: string }) => e.code,
          );
        expect(refused).toBe('UNREACHABLE');
      } finally {
        await stranger.close();
      }
      expect((await c.metrics(addr)).current_term).toBeLessThan(99);

      expect(cluster.isRunning(1)).toBe(true);
      const w = await c.call(addr, '/write', { Set: { key: 'still', value: 'alive' } });
      expect(w).toMatchObject({ status: 200, body: { Ok: { data: { value: 'alive' } } } });
    } finally {
      await cleanup();
    }
  }, 60_000);
});
