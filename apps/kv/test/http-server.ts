import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KvHttpHandler } from '../src/http-api.ts';

/** A started HTTP server around a handler, with helpers that return status and parsed JSON. */
export interface TestServer {
  base: string;
  post(path: string, body: string | undefined, headers?: Record<string, string>): Promise<TestReply>;
  get(path: string): Promise<TestReply>;
  close(): Promise<void>;
}

/** What a test request got back. */
export interface TestReply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** Serves `handler` on an ephemeral port of 127.0.0.1. Test-only. */
export async function serve(handler: KvHttpHandler): Promise<TestServer> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const reply = async (res: Response): Promise<TestReply> => {
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, json: parsed };
  };
  return {
    base,
    post: async (path, body, headers = { 'content-type': 'application/json' }) =>
      reply(await fetch(base + path, { method: 'POST', headers, ...(body === undefined ? {} : { body }) })),
    get: async (path) => reply(await fetch(base + path)),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
