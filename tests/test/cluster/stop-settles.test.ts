import { memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import { ErrorCode, type RaftLogStorage } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Cmd,
  CONFIG,
  codeOf,
  delay,
  type KvState,
  nodesOf,
  type Resp,
  TestCluster,
  WAIT,
} from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

/** `p`'s error code, or `'still pending'` if it has not settled after `ms` (a hang, not a speed). */
async function settledCode(p: Promise<unknown>, ms: number): Promise<string> {
  return Promise.race([codeOf(p), delay(ms).then(() => 'still pending')]);
}

describe('a stop settles everything', () => {
  it('a membership change whose entry was appended right before the node stopped fails with OutcomeUnknown', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    let armed = true;
    // The node stops at the end of the loop turn that appended the learner's entry: the call has its
    // log id, the wait for the apply has not started yet.
    l.metrics.subscribe(() => {
      if (!armed) return;
      armed = false;
      void l.shutdown();
    });
    const p = l.addLearner('d', { addr: 'd' }, { blocking: false });
    expect(await settledCode(p, 5_000)).toBe(ErrorCode.OutcomeUnknown);
  });

  it('a metrics subscriber that throws does not stop the node', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    let calls = 0;
    l.metrics.subscribe(() => {
      calls++;
      throw new Error('a buggy subscriber');
    });
    const w = await l.clientWrite({ key: 'x', value: 1 });
    expect(calls).toBeGreaterThan(0);
    expect(l.metrics.current.error).toBeNull();
    expect(l.metrics.current.lastApplied?.index).toBeGreaterThanOrEqual(w.logId.index);
  });

  it('after a fatal storage error every later call fails with Stopped, the storage error as its cause', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.node(await c.leader());
    l.store.failNext('append');
    const doomed = codeOf(l.raft.clientWrite({ key: 'x', value: 1 }));
    expect([ErrorCode.OutcomeUnknown, ErrorCode.Stopped]).toContain(await doomed);
    expect(l.raft.metrics.current.error?.code).toBe(ErrorCode.Storage);
    const later = await l.raft.clientWrite({ key: 'y', value: 1 }).catch((e: unknown) => e);
    expect(later).toMatchObject({ code: ErrorCode.Stopped, cause: { code: ErrorCode.Storage } });
    expect(await codeOf(l.raft.ensureLinearizable())).toBe(ErrorCode.Stopped);
    expect(await codeOf(l.raft.trigger.elect())).toBe(ErrorCode.Stopped);
    expect(await codeOf(l.raft.addLearner('d', { addr: 'd' }))).toBe(ErrorCode.Stopped);
    expect(await codeOf(l.raft.appendEntries({} as never))).toBe(ErrorCode.Stopped);
    // Every promise-returning call rejects: none throws synchronously (a caller's .catch must see it).
    const raft = l.raft;
    const calls: [string, () => Promise<unknown>][] = [
      ['initialize', () => raft.initialize({ a: { addr: 'a' } })],
      ['clientWriteMany', () => raft.clientWriteMany([{ key: 'z', value: 1 }])],
      ['getReadLinearizer', () => raft.getReadLinearizer({ policy: 'lease' })],
      ['changeMembership', () => raft.changeMembership(['a', 'b'])],
      ['trigger.heartbeat', () => raft.trigger.heartbeat()],
      ['trigger.snapshot', () => raft.trigger.snapshot()],
      ['trigger.purgeLog', () => raft.trigger.purgeLog(1)],
      ['trigger.transferLeader', () => raft.trigger.transferLeader('b')],
      ['vote', () => raft.vote({} as never)],
      ['transferLeader', () => raft.transferLeader({} as never)],
      ['wait.state', () => raft.wait(WAIT).state('Leader')],
    ];
    for (const [name, call] of calls) {
      let p: Promise<unknown>;
      try {
        p = call();
      } catch (e) {
        throw new Error(`${name} threw synchronously: ${String(e)}`);
      }
      expect(await codeOf(p), name).toBe(ErrorCode.Stopped);
    }
  });

  it('shutdown after a fatal error resolves only once the storage call in progress returned', async () => {
    const inner = memoryLogStore();
    let armed = false;
    let openGate: () => void = () => {};
    const gate = new Promise<void>((r) => {
      openGate = r;
    });
    let appendReturned = false;
    // Once armed, an append reports a failed flush at once but returns only when the gate opens.
    const store: RaftLogStorage = {
      getLogState: () => inner.getLogState(),
      readVote: () => inner.readVote(),
      saveVote: (v) => inner.saveVote(v),
      truncate: (since) => inner.truncate(since),
      purge: (upto) => inner.purge(upto),
      reader: () => inner.reader(),
      append: async (entries, onFlushed) => {
        if (!armed) return inner.append(entries, onFlushed);
        await inner.append(entries, () => {});
        onFlushed(new Error('disk gone'));
        await gate;
        appendReturned = true;
      },
    };
    const raft = await Raft.create<Cmd, Resp>({
      id: 'solo',
      config: CONFIG,
      network: { newClient: () => ({}) as never },
      logStore: store,
      stateMachine: memoryStateMachine<KvState, Cmd, Resp>({
        initial: {},
        apply: (st, d) => [{ ...st, [d.key]: d.value }, st[d.key] ?? null] as const,
      }),
    });
    await raft.initialize(nodesOf(['solo']));
    await raft.wait(WAIT).state('Leader');
    armed = true;
    const doomed = codeOf(raft.clientWrite({ key: 'x', value: 1 }));
    await raft
      .wait(WAIT)
      .until((m) => m.error !== null, 'the fatal error')
      .catch(() => null);
    expect(await doomed).toBe(ErrorCode.OutcomeUnknown);
    let done = false;
    const shut = raft.shutdown().then(() => {
      done = true;
    });
    await delay(200);
    expect(done).toBe(false);
    openGate();
    await shut;
    expect(appendReturned).toBe(true);
  });
});
