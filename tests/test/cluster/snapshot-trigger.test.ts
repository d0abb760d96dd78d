import { memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import type { RaftStateMachine } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cmd, CONFIG, type KvState, nodesOf, type Resp, WAIT } from './harness.ts';

let nodes: Raft<Cmd, Resp>[] = [];
afterEach(async () => {
  for (const r of nodes) await r.shutdown();
  nodes = [];
});

describe('trigger.snapshot', () => {
  it('a snapshot asked for while an older build runs covers what was applied when it was asked', async () => {
    const inner = memoryStateMachine<KvState, Cmd, Resp>({
      initial: {},
      apply: (s, d) => [{ ...s, [d.key]: d.value }, s[d.key] ?? null] as const,
    });
    let openGate: () => void = () => {};
    const gate = new Promise<void>((r) => {
      openGate = r;
    });
    let builds = 0;
    // The first build waits for the gate: it is still running when the second snapshot is asked for.
    const sm: RaftStateMachine<Cmd, Resp> = {
      appliedState: () => inner.appliedState(),
      apply: (e) => inner.apply(e),
      installSnapshot: (m, d) => inner.installSnapshot(m, d),
      getCurrentSnapshot: () => inner.getCurrentSnapshot(),
      snapshotBuilder: () => {
        const b = inner.snapshotBuilder();
        const first = builds++ === 0;
        return {
          buildSnapshot: async () => {
            if (first) await gate;
            return b.buildSnapshot();
          },
        };
      },
    };
    const raft = await Raft.create<Cmd, Resp>({
      id: 'solo',
      config: CONFIG,
      network: { newClient: () => ({}) as never },
      logStore: memoryLogStore(),
      stateMachine: sm,
    });
    nodes.push(raft);
    await raft.initialize(nodesOf(['solo']));
    await raft.wait(WAIT).state('Leader');
    const w1 = await raft.clientWrite({ key: 'a', value: 1 });
    const first = raft.trigger.snapshot();
    const w2 = await raft.clientWrite({ key: 'b', value: 2 });
    const second = raft.trigger.snapshot();
    openGate();
    expect((await first)?.index).toBeGreaterThanOrEqual(w1.logId.index);
    expect((await second)?.index).toBeGreaterThanOrEqual(w2.logId.index);
    // So the log can be purged up to the second write.
    expect((await raft.trigger.purgeLog(w2.logId.index))?.index).toBe(w2.logId.index);
  });
});
