import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Cmd,
  CONFIG,
  codeOf,
  type KvState,
  nodesOf,
  type Resp,
  recordingLogger,
  delay as sleep,
  TestCluster,
  WAIT,
} from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('leadership transfer', () => {
  it('a leader transferring to a dead target refuses writes, pointing at the target', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const old = await c.leader();
    const to = ['a', 'b', 'c'].find((id) => id !== old) as string;
    c.router.isolate(to);
    await c.raft(old).trigger.transferLeader(to);
    const err = await c
      .raft(old)
      .clientWrite({ key: 'x', value: 1 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.ForwardToLeader, leaderId: to });
  });

  it('a transfer to a dead target ends: under steady client load the others elect a leader that serves reads', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const old = await c.leader();
    const to = ['a', 'b', 'c'].find((id) => id !== old) as string;
    const live = ['a', 'b', 'c'].filter((id) => id !== to);
    c.router.isolate(to);
    await c.raft(old).trigger.transferLeader(to);
    let stop = false;
    let writesTried = 0;
    // Clients keep writing to whichever live node claims leadership (refusals are expected).
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        for (const id of live) {
          const r = c!.raft(id);
          if (r.metrics.current.state !== 'Leader') continue;
          writesTried++;
          await r.clientWrite({ key: 'w', value: i }).catch(() => null);
        }
        await sleep(20);
      }
    })();
    let served: string | null = null;
    const deadline = Date.now() + 12_000;
    while (served === null && Date.now() < deadline) {
      for (const id of live) {
        const r = c.raft(id);
        if (r.metrics.current.state !== 'Leader') continue;
        const ok = await r.ensureLinearizable().then(
          () => true,
          () => false,
        );
        if (ok) served = id;
      }
      await sleep(100);
    }
    stop = true;
    await writer;
    expect(writesTried).toBeGreaterThan(0);
    expect(served).not.toBeNull();
    // The transferring leader's term ended: whoever serves now was elected after the transfer began.
    const w = await c.raft(served as string).clientWrite({ key: 'after', value: 1 });
    expect(w.logId.term).toBeGreaterThan(1);
    expect(await codeOf(c.raft(to).clientWrite({ key: 'isolated', value: 1 }))).toBe(
      ErrorCode.ForwardToLeader,
    );
  }, 30_000);

  it('a network without transferLeader gets a warning instead of a silently dropped transfer', async () => {
    const router = new MemoryRouter();
    const logs = new Map<string, ReturnType<typeof recordingLogger>>();
    const nodes: Raft<Cmd, Resp>[] = [];
    try {
      for (const id of ['a', 'b', 'c']) {
        const inner = router.factory(id);
        const logger = recordingLogger();
        logs.set(id, logger);
        const raft = await Raft.create<Cmd, Resp>({
          id,
          config: CONFIG,
          logger,
          network: {
            newClient: (t, n) => {
              const { transferLeader: _dropped, ...rest } = inner.newClient(t, n);
              return rest;
            },
          },
          logStore: memoryLogStore(),
          stateMachine: memoryStateMachine<KvState, Cmd, Resp>({
            initial: {},
            apply: (st, d) => [{ ...st, [d.key]: d.value }, st[d.key] ?? null] as const,
          }),
        });
        router.register(id, raft);
        nodes.push(raft);
      }
      await nodes[0]?.initialize(nodesOf(['a', 'b', 'c']));
      const m = await nodes[0]?.wait(WAIT).until((x) => x.currentLeader !== null, 'a leader');
      const leader = nodes.find((n) => n.id === m?.currentLeader) as Raft<Cmd, Resp>;
      await leader.wait(WAIT).until((x) => x.committed?.term === x.currentTerm, 'the first commit');
      const to = ['a', 'b', 'c'].find((id) => id !== leader.id) as string;
      await leader.trigger.transferLeader(to);
      const warned = logs
        .get(leader.id)
        ?.lines.filter((l) => l.level === 'warn' && /transferLeader/.test(l.msg));
      expect(warned?.length).toBeGreaterThan(0);
    } finally {
      for (const n of nodes) await n.shutdown();
    }
  });
});
