// enableTick / enableElect / enableHeartbeat as start-up settings (openraft's Config fields), not only
// run-time switches: a node created with elections off stays a follower until they are turned on.
import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft, type RaftConfigInput } from '@flotilla/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { counterNode } from './harness.ts';

const FAST: RaftConfigInput = {
  heartbeatIntervalMs: 50,
  electionTimeoutMinMs: 150,
  electionTimeoutMaxMs: 300,
};
const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

function node(router: MemoryRouter, id: string, config: RaftConfigInput): Promise<Raft<number, number>> {
  return counterNode(router, id, nodes, { config: { ...FAST, ...config } });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('start-up switches', () => {
  for (const field of ['enableTick', 'enableElect'] as const) {
    it(`${field}: false keeps a follower from electing itself after its leader is gone, until switched on`, async () => {
      const router = new MemoryRouter();
      const a = await node(router, 'a', {});
      // no pre-vote: with its only peer gone, b's election shows as a new term
      const b = await node(router, 'b', { [field]: false, enablePreVote: false });
      expect(b.config[field]).toBe(false);
      await a.initialize({ a: { addr: 'a' }, b: { addr: 'b' } });
      await a.wait({ timeoutMs: 10_000 }).state('Leader');
      await b.wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader === 'a');
      const term = b.metrics.current.currentTerm;
      await a.shutdown(); // the leader is gone for good
      await pause(1_000); // several election timeouts
      expect(b.metrics.current).toMatchObject({ state: 'Follower', currentTerm: term });
      if (field === 'enableTick') b.runtimeConfig.tick(true);
      else b.runtimeConfig.elect(true);
      await b.wait({ timeoutMs: 10_000 }).until((m) => m.currentTerm > term, 'an election');
    });
  }

  for (const heartbeat of [false, true]) {
    it(`enableHeartbeat: ${heartbeat} — a settled leader ${heartbeat ? 'keeps' : 'stops'} sending to its follower`, async () => {
      const router = new MemoryRouter();
      const a = await node(router, 'a', { enableHeartbeat: heartbeat });
      const b = await node(router, 'b', { enableElect: false });
      await a.initialize({ a: { addr: 'a' }, b: { addr: 'b' } });
      await a.wait({ timeoutMs: 10_000 }).state('Leader');
      await b.wait({ timeoutMs: 10_000 }).until((m) => (m.lastApplied?.index ?? -1) >= 1);
      await pause(200); // the commit of the leader's first entry has reached b
      const sent = () =>
        router.count('appendEntries', { from: 'a', to: 'b' }) +
        router.count('streamAppend', { from: 'a', to: 'b' });
      const before = sent();
      await pause(1_000); // twenty heartbeat intervals
      if (heartbeat) expect(sent() - before).toBeGreaterThanOrEqual(5);
      else expect(sent() - before).toBe(0);
    });
  }

  it('a non-boolean switch is refused with INVALID_CONFIG', async () => {
    await expect(
      Raft.create({
        id: 'x',
        config: { enableTick: 'no' as unknown as boolean },
        network: new MemoryRouter().factory('x'),
        logStore: memoryLogStore(),
        stateMachine: memoryStateMachine({ initial: 0, apply: (s: number) => [s, s] as const }),
      }),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
