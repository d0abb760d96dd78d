import net from 'node:net';
import { RAFT_MAGIC } from '@flotilla/transport-tcp';
import { describe, expect, it } from 'vitest';
import { tempCluster } from './helpers.ts';

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

describe('bad input against a real node', () => {
  it('answers 4xx JSON errors, survives garbage on the shared port and keeps serving', async () => {
    const { cluster, cleanup } = await tempCluster(1);
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

      // Neither HTTP nor Raft; Raft magic followed by garbage; a lone byte then silence.
      await rawExchange(addr, new TextEncoder().encode('\x00\x01\x02 hello\r\n\r\n'));
      await rawExchange(addr, Uint8Array.of(...RAFT_MAGIC, 0xff, 0xff, 0xff, 0xff, 1, 2, 3));
      await rawExchange(addr, Uint8Array.of(RAFT_MAGIC[0] as number));
      const notHttp = await rawExchange(addr, new TextEncoder().encode('GET\r\n\r\n'));
      expect(notHttp).toMatch(/^HTTP\/1\.1 400/);

      expect(cluster.isRunning(1)).toBe(true);
      const w = await c.call(addr, '/write', { Set: { key: 'still', value: 'alive' } });
      expect(w).toMatchObject({ status: 200, body: { Ok: { data: { value: 'alive' } } } });
    } finally {
      await cleanup();
    }
  }, 60_000);
});
