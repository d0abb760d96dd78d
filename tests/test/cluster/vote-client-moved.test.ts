// A voter moved to another address (changeMembership {setNodes}) gets its vote requests at the new
// address: the candidate's cached vote client for the old address is dropped, not reused.
import { MemoryRouter } from '@flotilla/memory';
import type { Raft } from '@flotilla/raft';
import type { Node, NodeId, RaftNetwork, RaftNetworkFactory } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { counterNode, nodesOf } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

/** Wraps a factory; records each vote request as `target@addr` (the address its client was made for). */
function votesBy(inner: RaftNetworkFactory, seen: string[]): RaftNetworkFactory {
  return {
    newClient(target: NodeId, node: Node): RaftNetwork {
      const c = inner.newClient(target, node);
      return Object.assign(Object.create(c) as RaftNetwork, {
        vote: (req: Parameters<RaftNetwork['vote']>[0], opts: Parameters<RaftNetwork['vote']>[1]) => {
          seen.push(`${target}@${node.addr}`);
          return c.vote(req, opts);
        },
      });
    },
  };
}

describe('vote clients follow an address change', () => {
  it('after setNodes moves c, the next election asks c at its new address', async () => {
    const router = new MemoryRouter();
    const seen: string[] = [];
    const a = await counterNode(router, 'a', nodes);
    const b = await counterNode(router, 'b', nodes, { network: votesBy(router.factory('b'), seen) });
    await counterNode(router, 'c', nodes);
    await b.initialize(nodesOf(['a', 'b', 'c']));
    const { currentLeader } = await a.wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader !== null);
    expect(currentLeader).toBe('b'); // the initializing node campaigns first
    await b.wait({ timeoutMs: 10_000 }).appliedIndex(1);
    expect(seen).toContain('c@c');

    await b.changeMembership({ setNodes: { c: { addr: 'c-moved' } } });
    // b campaigns again (a takes over, then hands leadership back): votes go to a and c once more
    await b.trigger.transferLeader('a');
    await a.wait({ timeoutMs: 10_000 }).state('Leader');
    seen.length = 0;
    await a.trigger.transferLeader('b');
    await b.wait({ timeoutMs: 10_000 }).state('Leader');
    expect(seen).toContain('c@c-moved');
    expect(seen).not.toContain('c@c');
  });
});
