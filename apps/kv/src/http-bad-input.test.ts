import { afterEach, describe, expect, it } from 'vitest';
import { FakeRaft } from '../test/fake-raft.ts';
import { serve, type TestServer } from '../test/http-server.ts';
import { kvHttpHandler } from './http-api.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ s: TestServer; raft: FakeRaft }> {
  const raft = new FakeRaft('1');
  server = await serve(kvHttpHandler({ raft, store: raft.kv, addr: '127.0.0.1:21001', maxBodyBytes: 1024 }));
  await server.post('/init', '');
  return { s: server, raft };
}

describe('HTTP API: bad input gets a 4xx JSON error, never a crash', () => {
  it('malformed JSON', async () => {
    const { s } = await start();
    const r = await s.post('/write', '{"Set":');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ Err: { InvalidJson: { path: '$' } } });
  });

  it('wrong types, with the path of the offending field', async () => {
    const { s } = await start();
    const cases: [string, string, string][] = [
      ['/write', '{"Set":{"key":1,"value":"v"}}', '$.Set.key'],
      ['/write', '{"Put":{"key":"k"}}', '$'],
      ['/write', '"foo"', '$'],
      ['/read', '{"key":"foo"}', '$'],
      ['/linearizable_read', '42', '$'],
      ['/add-learner', '["2","127.0.0.1:1"]', '$[0]'],
      ['/add-learner', '[2]', '$'],
      ['/add-learner', '[2, 5]', '$[1]'],
      ['/change-membership', '[1, -2]', '$[1]'],
      ['/change-membership', '{"members":[1]}', '$'],
      ['/init', '[[1]]', '$[0]'],
      ['/init', '"x"', '$'],
      ['/init', '[[1,"a:1"],[1,"a:2"]]', '$[1][0]'],
    ];
    for (const [path, body, at] of cases) {
      const r = await s.post(path, body);
      expect({ path, body, status: r.status }).toEqual({ path, body, status: 400 });
      expect(r.json).toMatchObject({ Err: { InvalidRequest: { path: at } } });
    }
  });

  it('unknown routes and wrong methods', async () => {
    const { s } = await start();
    const nf = await s.get('/nope');
    expect(nf.status).toBe(404);
    expect(nf.json).toMatchObject({ Err: { NotFound: { path: '/nope' } } });
    const wm = await s.get('/write');
    expect(wm.status).toBe(405);
    expect(wm.headers.get('allow')).toBe('POST');
    expect((await s.post('/metrics', '')).status).toBe(405);
  });

  it('bodies over the limit get 413, declared or streamed', async () => {
    const { s, raft } = await start();
    const big = JSON.stringify({ Set: { key: 'k', value: 'x'.repeat(2000) } });
    const r = await s.post('/write', big);
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ Err: { PayloadTooLarge: {} } });
    // Chunked (no content-length): the limit is enforced while reading.
    const chunked = await fetch(`${s.base}/write`, {
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode('x'.repeat(500)));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(raft.kv.get('k')).toBeUndefined();
    // The server still serves.
    expect((await s.post('/write', '{"Set":{"key":"k","value":"v"}}')).status).toBe(200);
  });

  it('counts requests in the Prometheus text', async () => {
    const { s } = await start();
    await s.post('/write', '{"Set":{"key":"a","value":"1"}}');
    await s.post('/write', 'nope');
    await s.get('/nope');
    const p = await s.get('/metrics/prometheus');
    expect(p.status).toBe(200);
    expect(p.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(p.text).toContain('flotilla_is_leader{node="1"} 1');
    expect(p.text).toContain('flotilla_kv_keys{node="1"} 1');
    expect(p.text).toContain('flotilla_kv_writes_total{node="1",outcome="ok"} 1');
    expect(p.text).toContain('flotilla_kv_http_requests_total{node="1",route="/write",status="400"} 1');
    expect(p.text).toContain('flotilla_kv_http_requests_total{node="1",route="unknown",status="404"} 1');
    expect(p.text).toContain('flotilla_state{node="1",state="Leader"} 1');
  });
});

describe('HTTP API: node addresses are checked where they enter', () => {
  it('/add-learner and /init refuse an address that is not host:port, changing nothing', async () => {
    const { s, raft } = await start();
    const before = raft.calls.length;
    const cases: [string, string, string][] = [
      ['/add-learner', '[9, "not-an-address"]', '$[1]'],
      ['/add-learner', '[9, "localhost"]', '$[1]'],
      ['/add-learner', '[9, "host:99999"]', '$[1]'],
      ['/add-learner', '[9, 7]', '$[1]'],
      ['/init', '[[1, "127.0.0.1:21001"], [2, "nope"]]', '$[1][1]'],
    ];
    for (const [path, body, at] of cases) {
      const r = await s.post(path, body);
      expect(r.status, `${path} ${body}`).toBe(400);
      expect(r.json).toMatchObject({
        Err: { InvalidRequest: { path: at, message: expect.stringMatching(/host:port/) } },
      });
    }
    expect(raft.calls.slice(before)).toEqual([]);
    // a real address still goes through
    expect((await s.post('/add-learner', '[9, "[::1]:21009"]')).status).toBe(200);
  });
});
