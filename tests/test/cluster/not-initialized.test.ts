// A node that was never initialized says so when asked to write or read, instead of "leader
// unknown"; once it belongs to a cluster the usual ForwardToLeader (with the leader) comes back.
import { MemoryRouter } from '@flotilla/memory';
import type { Raft } from '@flotilla/raft';
import { ErrorCode, hasErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { counterNode } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function refusal(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => new Error('resolved'),
    (err: unknown) => err as Error,
  );
  if (!hasErrorCode(e, ErrorCode.ForwardToLeader))
    throw new Error(`expected ForwardToLeader, got ${String(e)}`);
  return e;
}

describe('a node that was never initialized', () => {
  it('answers writes and reads with ForwardToLeader saying it is not initialized', async () => {
    const router = new MemoryRouter();
    const a = await counterNode(router, 'a', nodes);
    const w = await refusal(a.clientWrite(1));
    expect(w.message).toMatch(/not initialized/);
    const r = await refusal(a.ensureLinearizable());
    expect(r.message).toMatch(/not initialized/);
  });

  it('once in a cluster, a follower names the leader instead', async () => {
    const router = new MemoryRouter();
    const a = await counterNode(router, 'a', nodes);
    const b = await counterNode(router, 'b', nodes);
    await a.initialize({ a: { addr: 'a' }, b: { addr: 'b' } });
    await a.wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader !== null);
    const { currentLeader } = await b.wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader !== null);
    const follower = currentLeader === 'a' ? b : a;
    const e = await refusal(follower.clientWrite(1));
    expect(e.message).not.toMatch(/not initialized/);
    expect(e).toMatchObject({ leaderId: currentLeader });
  });
});
