import type { Raft } from '@flotilla/raft';
import type { AppendEntriesResponse, NodeId, RaftNetworkFactory, VoteRequest } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cmd, lonelyNode, nodesOf, type Resp } from './harness.ts';

let nodes: Raft<Cmd, Resp>[] = [];
afterEach(async () => {
  for (const r of nodes) await r.shutdown();
  nodes = [];
});

describe('a network that cannot reach one peer', () => {
  it('a leader whose network cannot make a replication client for one peer keeps leading through the others', async () => {
    const appends = new Map<NodeId, number>();
    let made = 0;
    const network: RaftNetworkFactory = {
      newClient: (target) => {
        // The first client to c (its vote client) works; every later one cannot be made.
        if (target === 'c' && ++made > 1) throw new Error(`cannot parse the address of ${target}`);
        return {
          vote: async (req: VoteRequest) => ({ vote: req.vote, voteGranted: true, lastLogId: null }),
          appendEntries: async (req): Promise<AppendEntriesResponse> => {
            appends.set(target, (appends.get(target) ?? 0) + 1);
            void req;
            return { type: 'success' };
          },
          fullSnapshot: () => Promise.reject(new Error('no snapshots here')),
        };
      },
    };
    const raft = await lonelyNode(network, nodes);
    await raft.initialize(nodesOf(['a', 'b', 'c']));
    await raft.trigger.elect();
    await raft.wait({ timeoutMs: 10_000 }).state('Leader');
    await raft.wait({ timeoutMs: 10_000 }).until(() => (appends.get('b') ?? 0) >= 3, 'appends to b');
    expect(raft.metrics.current.error).toBeNull();
    expect(raft.metrics.current.state).toBe('Leader');
    expect(made).toBeGreaterThan(1);
  });

  it('a client whose close throws synchronously does not break shutdown', async () => {
    const network: RaftNetworkFactory = {
      newClient: () => ({
        vote: async (req: VoteRequest) => ({ vote: req.vote, voteGranted: false, lastLogId: null }),
        appendEntries: () => Promise.reject(new Error('down')),
        fullSnapshot: () => Promise.reject(new Error('down')),
        close: () => {
          throw new Error('close failed synchronously');
        },
      }),
    };
    const raft = await lonelyNode(network, nodes);
    await raft.initialize(nodesOf(['a', 'b', 'c']));
    await raft.trigger.elect(); // creates the vote clients
    const waiting = raft
      .wait({ timeoutMs: 60_000 })
      .state('Leader')
      .catch((e: unknown) => e);
    await expect(raft.shutdown()).resolves.toBeUndefined();
    expect(await waiting).toMatchObject({ code: 'STOPPED' });
    expect(raft.metrics.current.state).toBe('Shutdown');
  });
});
