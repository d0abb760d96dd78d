import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { grpcNetwork, grpcServer, HTTP2_PREFACE, sniffHttp2 } from '../src/index.ts';
import { appendReq, collect, TestHandler } from './helpers.ts';

/** The accept loop an app writes: sniff the first bytes, hand HTTP/2 to gRPC and the rest to HTTP/1. */
function route(socket: net.Socket, raft: ReturnType<typeof grpcServer>, web: http.Server): void {
  socket.once('readable', () => {
    const first: Buffer | null = socket.read(HTTP2_PREFACE.byteLength) ?? socket.read();
    if (first === null) return route(socket, raft, web);
    switch (sniffHttp2(first)) {
      case 'http2':
        return raft.serveConnection(socket, first);
      case 'other':
        socket.unshift(first);
        web.emit('connection', socket);
        return;
      case 'more':
        socket.unshift(first);
        return route(socket, raft, web);
    }
  });
}

describe('one port for HTTP/1 and gRPC', () => {
  it('sniffs the HTTP/2 preface', () => {
    expect(sniffHttp2(HTTP2_PREFACE)).toBe('http2');
    expect(sniffHttp2(HTTP2_PREFACE.subarray(0, 10))).toBe('more');
    expect(sniffHttp2(Buffer.from('POST /write HTTP/1.1\r\n'))).toBe('other');
    expect(sniffHttp2(Buffer.from('PUT / HTTP/1.1\r\n'))).toBe('other');
    expect(sniffHttp2(Buffer.from('P'))).toBe('more');
  });

  it('serves Raft over gRPC and HTTP/1 on the same port', async () => {
    const handler = new TestHandler();
    const raft = grpcServer({ clusterId: 'test', nodeId: 'b', handler, secret: 's' });
    const web = http.createServer((req, res) => res.end(`hello ${req.method}`));
    const front = net.createServer((socket) => route(socket, raft, web));
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const port = (front.address() as net.AddressInfo).port;
    const network = grpcNetwork({ clusterId: 'test', nodeId: 'a', secret: 's' });
    try {
      const c = network.newClient('b', { addr: `127.0.0.1:${port}` });
      const res = await c.vote({ vote: { term: 2, nodeId: 'a', committed: false }, lastLogId: null });
      expect(res.voteGranted).toBe(true);
      async function* reqs() {
        for (let i = 0; i < 50; i++) yield appendReq(i - 1, 1);
      }
      expect((await collect(c.streamAppend(reqs()))).at(-1)).toEqual({
        type: 'matched',
        matching: { term: 3, index: 49 },
      });
      expect(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text())).toBe('hello GET');
      expect(
        await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' }).then((r) => r.text()),
      ).toBe('hello POST');
      expect(handler.votes).toHaveLength(1);
      expect(raft.connections).toBe(2);
    } finally {
      await network.close();
      await raft.close();
      front.close();
      web.close();
      web.closeAllConnections();
    }
  });
});
