import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KvClient } from './client.ts';

let server: http.Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s !== undefined) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** A server answering with `handler`; resolves with its address and a count of TCP connections. */
async function serve(handler: http.RequestListener): Promise<{ addr: string; connections: () => number }> {
  let connections = 0;
  const s = http.createServer(handler);
  s.on('connection', () => connections++);
  server = s;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { addr: `127.0.0.1:${(s.address() as AddressInfo).port}`, connections: () => connections };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    req.on('end', () => resolve(text));
  });
}

describe('KvClient.call', () => {
  it('POSTs JSON, GETs without a body, and parses JSON replies', async () => {
    const seen: string[] = [];
    const { addr } = await serve(async (req, res) => {
      const body = await readBody(req);
      seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? '-'} ${body}`);
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ Ok: req.url }));
    });
    const c = new KvClient([addr]);
    expect(await c.call(addr, '/write', { Set: { key: 'k', value: 'v' } })).toEqual({
      status: 200,
      body: { Ok: '/write' },
    });
    expect(await c.call(addr, '/missing')).toEqual({ status: 404, body: { Ok: '/missing' } });
    expect(seen).toEqual(['POST /write application/json {"Set":{"key":"k","value":"v"}}', 'GET /missing - ']);
  });

  it('keeps a reply that is not JSON as text', async () => {
    const { addr } = await serve((_req, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    expect(await new KvClient([addr]).call(addr, '/x')).toEqual({ status: 500, body: 'boom' });
  });

  it('reuses one connection for sequential calls (keep-alive)', async () => {
    const { addr, connections } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"Ok":null}');
    });
    const c = new KvClient([addr]);
    for (let i = 0; i < 5; i++) expect((await c.call(addr, '/health')).status).toBe(200);
    expect(connections()).toBe(1);
  });

  it('rejects on timeout and on abort', async () => {
    const { addr } = await serve(() => {
      // never answers
    });
    await expect(new KvClient([addr], { requestTimeoutMs: 50 }).call(addr, '/slow')).rejects.toThrow();
    const ac = new AbortController();
    const pending = new KvClient([addr]).call(addr, '/slow', undefined, ac.signal);
    ac.abort(new Error('stop'));
    await expect(pending).rejects.toThrow();
  });

  it('rejects when nothing listens', async () => {
    const { addr } = await serve(() => {});
    await new Promise<void>((r) => server?.close(() => r()));
    server = undefined;
    await expect(new KvClient([addr]).call(addr, '/health')).rejects.toThrow();
  });
});
