import net from 'node:net';
import { ErrorCode, snapshotDataOf } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpNetwork, tcpServer } from '../src/index.ts';
import { appendReq, LEADER, TestHandler } from './helpers.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A server on 127.0.0.1 that records the remote address of every connection it accepts. */
async function recordingServer(): Promise<{ port: number; remotes: string[] }> {
  const raft = tcpServer({ clusterId: 'test', nodeId: 'b', handler: new TestHandler() });
  const remotes: string[] = [];
  const front = net.createServer((socket) => {
    remotes.push(socket.remoteAddress ?? '?');
    raft.adopt(socket);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    await raft.close();
    await new Promise((resolve) => front.close(resolve));
  });
  return { port: (front.address() as net.AddressInfo).port, remotes };
}

async function* requests() {
  yield appendReq(-1, 2);
}

describe('localAddress: outgoing connections leave from the configured address', () => {
  it('every connection kind is bound to it (the server sees 127.0.0.2, not 127.0.0.1)', async () => {
    const { port, remotes } = await recordingServer();
    const network = tcpNetwork({ clusterId: 'test', nodeId: 'a', localAddress: '127.0.0.2' });
    closers.unshift(() => network.close());
    const client = network.newClient('b', { addr: `127.0.0.1:${port}` });
    await client.vote({ vote: { term: 2, nodeId: 'a', committed: false }, lastLogId: null });
    await client.appendEntries(appendReq(-1, 1));
    for await (const _ of client.streamAppend(requests())) {
    }
    const meta = {
      lastLogId: { term: 3, index: 10 },
      lastMembership: { logId: null, membership: { configs: [['a']], nodes: { a: { addr: 'x:1' } } } },
      snapshotId: 's1',
    };
    await client.fullSnapshot(LEADER, { meta, data: snapshotDataOf(new Uint8Array(10)) });
    // unary, bulk, stream and snapshot connections
    expect(remotes).toEqual(['127.0.0.2', '127.0.0.2', '127.0.0.2', '127.0.0.2']);
  });

  it('without it the OS picks the loopback source (control)', async () => {
    const { port, remotes } = await recordingServer();
    const network = tcpNetwork({ clusterId: 'test', nodeId: 'a' });
    closers.unshift(() => network.close());
    await network
      .newClient('b', { addr: `127.0.0.1:${port}` })
      .vote({ vote: { term: 2, nodeId: 'a', committed: false }, lastLogId: null });
    expect(remotes).toEqual(['127.0.0.1']);
  });

  it('refuses a value that is not an IP address with INVALID_CONFIG', () => {
    for (const localAddress of ['localhost', '127.0.0', '', 'a:b:c']) {
      expect(() => tcpNetwork({ clusterId: 'test', nodeId: 'a', localAddress })).toThrow(
        expect.objectContaining({ code: ErrorCode.InvalidConfig, field: 'localAddress' }),
      );
    }
  });
});
