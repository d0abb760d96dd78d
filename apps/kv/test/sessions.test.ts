import { describe, expect, it } from 'vitest';
import { tempCluster } from './helpers.ts';

describe('exactly-once client sessions over HTTP (a real node)', () => {
  it('a retried Append with the same (client_id, sequence) is applied once; an unknown session is refused', async () => {
    const { cluster, cleanup } = await tempCluster(1);
    try {
      const addr = cluster.addr(1);
      const c = cluster.client();
      expect(await c.call(addr, '/init', [])).toEqual({ status: 200, body: { Ok: null } });
      await c.waitForLeader(30_000);
      const w = (value: string, sequence: number, client_id = 'c1') =>
        c.call(addr, '/write', { Append: { key: 'k', value }, client_id, sequence });

      const first = await w('a', 1);
      expect(first.body).toMatchObject({ Ok: { data: { value: 'a', applied: true } } });
      const retry = await w('a', 1);
      expect(retry.body).toMatchObject({ Ok: { data: { value: 'a', applied: true } } });
      expect(await w('b', 2)).toMatchObject({ body: { Ok: { data: { value: 'ab' } } } });
      expect(await c.call(addr, '/read', 'k')).toEqual({ status: 200, body: { Ok: 'ab' } });

      expect(await w('x', 9, 'never-opened')).toEqual({
        status: 200,
        body: {
          Err: {
            APIError: {
              SessionExpired: {
                client_id: 'never-opened',
                sequence: 9,
                message: 'SessionExpired: client never-opened, sequence 9',
              },
            },
          },
        },
      });
      expect((await w('x', 1)).body).toMatchObject({ Err: { APIError: { StaleSequence: { sequence: 1 } } } });
      expect(await c.call(addr, '/read', 'k')).toEqual({ status: 200, body: { Ok: 'ab' } });
      const bad = await c.call(addr, '/write', { Append: { key: 'k', value: 'v' }, client_id: 'c1' });
      expect(bad).toMatchObject({ status: 400, body: { Err: { InvalidRequest: { path: '$.sequence' } } } });
    } finally {
      await cleanup();
    }
  }, 60_000);
});
