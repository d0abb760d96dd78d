// A three-node cluster on @flotilla/storage-file's log store and fileStateMachine (over CrashFileIO,
// so a crash drops what was not synced): writes, snapshots, a node crashed and restarted from what
// its disks kept, and the state read back — nothing acknowledged is lost, retried writes stay
// applied once, and a node behind the purged log catches up through a snapshot install.
import { MemoryRouter } from '@flotilla/memory';
import { Raft, type RaftConfigInput } from '@flotilla/raft';
import {
  type FileLogStore,
  type FileStateMachine,
  fileLogStore,
  fileStateMachine,
} from '@flotilla/storage-file';
import { CrashFileIO } from '@flotilla/storage-file/testing';
import type { NodeId } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cmd, CONFIG, delay, nodesOf, type Resp, WAIT } from './harness.ts';

type Kv = Map<string, number>;
interface FileNode {
  raft: Raft<Cmd, Resp>;
  io: CrashFileIO;
  log: FileLogStore;
  sm: FileStateMachine<Kv, Cmd, Resp>;
  /** Writes this incarnation executed (not answered from a session). */
  executed: Cmd[];
}

const router = new MemoryRouter();
const nodes = new Map<NodeId, FileNode>();
afterEach(async () => {
  for (const [id, n] of nodes) {
    router.unregister(id);
    await n.raft.shutdown();
  }
  nodes.clear();
});

async function start(id: NodeId, io: CrashFileIO, config: RaftConfigInput): Promise<FileNode> {
  const executed: Cmd[] = [];
  const log = await fileLogStore(`/${id}/log`, { io });
  const sm = await fileStateMachine<Kv, Cmd, Resp>({
    dir: `/${id}/sm`,
    io,
    initial: new Map(),
    apply: (s, cmd) => {
      executed.push(cmd);
      const old = s.get(cmd.key) ?? null;
      s.set(cmd.key, cmd.value);
      return [s, old];
    },
  });
  const raft = await Raft.create<Cmd, Resp>({
    id,
    config: { ...CONFIG, ...config },
    network: router.factory(id),
    logStore: log,
    stateMachine: sm,
  });
  router.register(id, raft);
  const n = { raft, io, log, sm, executed };
  nodes.set(id, n);
  return n;
}

/** Power loss: the node stops at once; its disks keep only what was synced. */
async function crash(id: NodeId): Promise<CrashFileIO> {
  const n = nodes.get(id) as FileNode;
  router.unregister(id);
  const disk = n.io.crash('loseUnsynced');
  nodes.delete(id);
  await n.raft.shutdown();
  return disk;
}

async function leader(): Promise<FileNode> {
  for (;;) {
    const any = [...nodes.values()][0] as FileNode;
    const m = await any.raft.wait(WAIT).until((x) => x.currentLeader !== null && nodes.has(x.currentLeader));
    const l = nodes.get(m.currentLeader as NodeId) as FileNode;
    const lm = await l.raft
      .wait(WAIT)
      .until((x) => (x.state === 'Leader' && x.committed?.term === x.currentTerm) || x.state !== 'Leader');
    if (lm.state === 'Leader') return l;
    // a stale view of the leader: let the election move on (never spin on resolved promises)
    await delay(50);
  }
}

async function cluster(config: RaftConfigInput = {}): Promise<void> {
  for (const id of ['a', 'b', 'c']) await start(id, new CrashFileIO(), config);
  await (nodes.get('a') as FileNode).raft.initialize(nodesOf(['a', 'b', 'c']));
}

describe('fileStateMachine in a cluster', () => {
  it('a node restarts from its snapshot and the log replays the rest; retried writes stay applied once', async () => {
    await cluster();
    let l = await leader();
    let w = -1;
    for (let i = 0; i < 20; i++)
      w = (await l.raft.clientWrite({ key: `k${i % 5}`, value: i }, { clientId: 'c1', sequence: i + 1 }))
        .logId.index;
    for (const n of nodes.values()) await n.raft.wait(WAIT).appliedIndex(w);
    for (const n of nodes.values()) await n.raft.trigger.snapshot();
    const last = await l.raft.clientWriteMany(
      Array.from({ length: 10 }, (_, i) => ({ key: 'after', value: i })),
    );
    const lastIndex = last.at(-1)?.logId.index ?? -1;
    for (const n of nodes.values()) await n.raft.wait(WAIT).appliedIndex(lastIndex);

    const victim = [...nodes.keys()].find((id) => id !== 'a') as NodeId;
    const snapIndex = (nodes.get(victim) as FileNode).raft.metrics.current.snapshot?.index ?? -1;
    const disk = await crash(victim);
    const back = await start(victim, disk, {});
    // it came back at its snapshot, not empty, and re-applies only what follows it
    expect((await back.sm.appliedState()).lastApplied?.index).toBe(snapIndex);
    expect(back.sm.state.get('k4')).toBe(19);
    await back.raft.wait(WAIT).appliedIndex(lastIndex);
    expect(back.executed).toEqual(Array.from({ length: 10 }, (_, i) => ({ key: 'after', value: i })));

    l = await leader();
    // a retry of the client's last write answers its first response and is not applied again
    const retry = await l.raft.clientWrite({ key: 'k4', value: 999 }, { clientId: 'c1', sequence: 20 });
    expect(retry.response).toBe(14);
    await back.raft.wait(WAIT).appliedIndex(retry.logId.index);
    expect(back.sm.state).toEqual(l.sm.state);
    expect(back.sm.state.get('k4')).toBe(19);
    expect(back.sm.state.get('after')).toBe(9);
  });

  it('a node behind a purged log catches up by a snapshot it installs durably, and keeps it across a crash', async () => {
    await cluster({ maxInSnapshotLogToKeep: 0 });
    const l = await leader();
    await l.raft.clientWrite({ key: 'early', value: 1 });
    const victim = [...nodes.keys()].find((id) => id !== l.raft.id) as NodeId;
    const disk = await crash(victim);
    const res = await l.raft.clientWriteMany(
      Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i })),
    );
    const snap = await l.raft.trigger.snapshot();
    await l.raft.trigger.purgeLog(snap?.index ?? 0);
    const back = await start(victim, disk, {});
    const lastIndex = res.at(-1)?.logId.index ?? -1;
    await back.raft.wait(WAIT).appliedIndex(lastIndex);
    expect(back.raft.metrics.current.snapshot).toEqual(snap);
    expect(back.sm.state).toEqual(l.sm.state);

    // the installed snapshot was durable: another power loss finds it
    const again = await start(victim, await crash(victim), {});
    expect((await again.sm.appliedState()).lastApplied).toEqual(snap);
    await again.raft.wait(WAIT).appliedIndex(lastIndex);
    expect(again.sm.state).toEqual(l.sm.state);
  });

  it('a power loss of the whole cluster loses no acknowledged write', async () => {
    await cluster({ snapshotPolicy: { sinceLast: 7 } });
    let l = await leader();
    const acked = new Map<string, number>();
    for (let i = 0; i < 25; i++) {
      const cmd = { key: `k${i % 6}`, value: i };
      await l.raft.clientWrite(cmd);
      acked.set(cmd.key, cmd.value);
    }
    const disks = new Map<NodeId, CrashFileIO>();
    for (const id of [...nodes.keys()]) disks.set(id, await crash(id));
    for (const [id, disk] of disks) await start(id, disk, { snapshotPolicy: { sinceLast: 7 } });
    l = await leader();
    // a write of the new term commits everything before it
    const fence = await l.raft.clientWrite({ key: 'fence', value: 1 });
    for (const n of nodes.values()) {
      await n.raft.wait(WAIT).appliedIndex(fence.logId.index);
      for (const [key, value] of acked) expect(n.sm.state.get(key)).toBe(value);
    }
    // the restarted nodes came back from their snapshots, not from nothing
    for (const n of nodes.values()) expect(n.executed.length).toBeLessThan(26);
  });
});
