import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { looksLikeRaft, RAFT_MAGIC, tcpNetwork, tcpServer } from '../src/index.ts';
import { TestHandler } from './helpers.ts';

describe('adopt: one port for HTTP and Raft', () => {
  it('routes by the first bytes', async () => {
    const handler = new TestHandler();
    const raft = tcpServer({ clusterId: 'test', nodeId: 'b', handler });
    const web = http.createServer((_req, res) => res.end('hello http'));
    const front = net.createServer((socket) => {
      socket.once('readable', () => {
        const first: Buffer | null = socket.read(RAFT_MAGIC.byteLength) ?? socket.read();
        if (first === null) return socket.destroy();
        if (looksLikeRaft(first)) return raft.adopt(socket, first);
        socket.unshift(first);
        web.emit('connection', socket);
      });
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const port = (front.address() as net.AddressInfo).port;
    const network = tcpNetwork({ clusterId: 'test', nodeId: 'a' });
    try {
      const res = await network
        .newClient('b', { addr: `127.0.0.1:${port}` })
        .vote({ vote: { term: 2, nodeId: 'a', committed: false }, lastLogId: null });
      expect(res.voteGranted).toBe(true);
      const body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      expect(body).toBe('hello http');
      expect(handler.votes).toHaveLength(1);
    } finally {
      await network.close();
      await raft.close();
      front.close();
      web.close();
      web.closeAllConnections();
    }
  });
});
