import type { Raft } from '@flotilla/raft';
import {
  ErrorCode,
  NetworkError,
  type NodeId,
  type RaftNetwork,
  type RaftNetworkFactory,
  type SnapshotData,
  type VoteResponse,
} from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cmd, nodesOf, type Resp, lonelyNode as startLonelyNode } from './harness.ts';

let nodes: Raft<Cmd, Resp>[] = [];
afterEach(async () => {
  for (const r of nodes) await r.shutdown();
  nodes = [];
});

/** Node `a` of {a, b, c}, shut down after the test. */
const lonelyNode = (network: RaftNetworkFactory) => startLonelyNode(network, nodes);

/** The meta of a snapshot of {a, b, c} up to 1-1. */
function metaOf(snapshotId: string) {
  return {
    lastLogId: { term: 1, index: 1 },
    lastMembership: {
      logId: { term: 1, index: 1 },
      membership: { configs: [['a', 'b', 'c']], nodes: nodesOf(['a', 'b', 'c']) },
    },
    snapshotId,
  };
}

function peers(vote: () => Promise<VoteResponse>, calls: NodeId[]): RaftNetworkFactory {
  return {
    newClient: (target: NodeId): RaftNetwork => ({
      vote: () => {
        calls.push(target);
        return vote();
      },
      appendEntries: () => Promise.reject(new NetworkError('down')),
      fullSnapshot: () => Promise.reject(new NetworkError('down')),
    }),
  };
}

describe('the RPC boundary', () => {
  it('a malformed vote response from a peer is dropped and does not stop the node', async () => {
    const calls: NodeId[] = [];
    const raft = await lonelyNode(peers(async () => ({ granted: 'yes' }) as unknown as VoteResponse, calls));
    await raft.initialize(nodesOf(['a', 'b', 'c']));
    await raft.trigger.elect();
    // Both peers answered (garbage) and the loop handled the answers.
    await raft.wait({ timeoutMs: 10_000 }).until(() => calls.length >= 2, 'two vote requests');
    await new Promise((r) => setTimeout(r, 100));
    expect(raft.metrics.current.error).toBeNull();
    expect(raft.metrics.current.state).not.toBe('Shutdown');
    // The node keeps campaigning: it is alive.
    const before = calls.length;
    await raft.trigger.elect();
    await raft.wait({ timeoutMs: 10_000 }).until(() => calls.length > before, 'another vote request');
  });

  it('a snapshot whose chunks are not bytes is refused with InvalidRequest and the node keeps running', async () => {
    const raft = await lonelyNode(peers(() => Promise.reject(new NetworkError('down')), []));
    const vote = { term: 1, nodeId: 'b', committed: true };
    const meta = metaOf('bad');
    async function* data(): SnapshotData {
      yield 'not bytes' as unknown as Uint8Array;
    }
    const err = await raft.installFullSnapshot(vote, meta, data()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.InvalidRequest });
    await new Promise((r) => setTimeout(r, 100));
    expect(raft.metrics.current.error).toBeNull();
    expect(raft.metrics.current.state).not.toBe('Shutdown');
  });

  it('a snapshot sent under an uncommitted vote is refused with InvalidRequest and the node keeps running', async () => {
    const raft = await lonelyNode(peers(() => Promise.reject(new NetworkError('down')), []));
    const vote = { term: 1, nodeId: 'b', committed: false };
    const meta = metaOf('uncommitted');
    async function* data(): SnapshotData {
      yield new Uint8Array([1, 2, 3]);
    }
    const err = await raft.installFullSnapshot(vote, meta, data()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.InvalidRequest });
    await new Promise((r) => setTimeout(r, 100));
    expect(raft.metrics.current.error).toBeNull();
    expect(raft.metrics.current.state).not.toBe('Shutdown');
  });

  it('a network factory that throws for one peer does not stop the node; the other peer is still asked', async () => {
    const calls: NodeId[] = [];
    const inner = peers(() => Promise.reject(new NetworkError('down')), calls);
    const raft = await lonelyNode({
      newClient: (target, node) => {
        if (target === 'c') throw new Error(`cannot parse the address of ${target}`);
        return inner.newClient(target, node);
      },
    });
    await raft.initialize(nodesOf(['a', 'b', 'c']));
    await raft.trigger.elect();
    await raft.wait({ timeoutMs: 10_000 }).until(() => calls.includes('b'), 'a vote request to b');
    await new Promise((r) => setTimeout(r, 100));
    expect(raft.metrics.current.error).toBeNull();
    expect(raft.metrics.current.state).not.toBe('Shutdown');
  });

  it('a transport whose vote throws synchronously fails that request only', async () => {
    const calls: NodeId[] = [];
    const raft = await lonelyNode(
      peers(() => {
        throw new Error('synchronous transport failure');
      }, calls),
    );
    await raft.initialize(nodesOf(['a', 'b', 'c']));
    await raft.trigger.elect();
    await raft.wait({ timeoutMs: 10_000 }).until(() => calls.length >= 2, 'two vote requests');
    await new Promise((r) => setTimeout(r, 100));
    expect(raft.metrics.current.error).toBeNull();
    expect(raft.metrics.current.state).not.toBe('Shutdown');
  });
});
