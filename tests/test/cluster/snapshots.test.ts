import {
  type RaftRpcHandler,
  type RaftStateMachine,
  type SnapshotSink,
  snapshotDataOf,
} from '@flotilla/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Cmd, delay, kv, type Resp, TestCluster, WAIT } from './harness.ts';

/** `sm` with some of its methods replaced (a slow install, a receive spool). */
function withParts(
  sm: RaftStateMachine<Cmd, Resp>,
  parts: Partial<RaftStateMachine<Cmd, Resp>>,
): RaftStateMachine<Cmd, Resp> {
  return {
    appliedState: () => sm.appliedState(),
    apply: (es) => sm.apply(es),
    snapshotBuilder: () => sm.snapshotBuilder(),
    installSnapshot: (meta, data) => sm.installSnapshot(meta, data),
    getCurrentSnapshot: () => sm.getCurrentSnapshot(),
    ...parts,
  };
}

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('snapshots', () => {
  it('builds a snapshot by policy every sinceLast applied entries and purges below it', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], {
      config: { snapshotPolicy: { sinceLast: 50 }, maxInSnapshotLogToKeep: 10 },
    });
    const l = c.raft(await c.leader());
    const res = await l.clientWriteMany(
      Array.from({ length: 120 }, (_, i) => ({ key: `k${i % 7}`, value: i })),
    );
    const last = res[res.length - 1]?.logId.index ?? 0;
    await c.applied(last);
    for (const n of c.nodes.values()) {
      const m = await n.raft.wait(WAIT).until((x) => (x.snapshot?.index ?? 0) >= 50, 'a policy snapshot');
      expect(m.snapshot?.index).toBeLessThanOrEqual(last);
      await n.raft.wait(WAIT).until((x) => (x.purged?.index ?? -1) >= (x.snapshot?.index ?? 0) - 10);
      expect(n.sm.snapshotsBuilt).toBeGreaterThanOrEqual(1);
    }
  });

  it('trigger.snapshot builds one at once; applying goes on while it is built', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    await l.clientWriteMany(Array.from({ length: 30 }, (_, i) => ({ key: 'k', value: i })));
    const building = l.trigger.snapshot();
    const w = await l.clientWrite({ key: 'during', value: 1 });
    const snap = await building;
    expect(snap?.index).toBeGreaterThanOrEqual(31);
    expect(l.metrics.current.snapshot).toEqual(snap);
    expect(l.metrics.current.lastApplied?.index).toBeGreaterThanOrEqual(w.logId.index);
  });

  it('a learner that lacks purged entries is switched to a snapshot, sent in many small chunks, and converges', async () => {
    c = await TestCluster.create(['a', 'b', 'c', 'd'], {
      voters: ['a', 'b', 'c'],
      config: { maxInSnapshotLogToKeep: 0, snapshotChunkBytes: 16 },
    });
    const l = await c.leader(['a', 'b', 'c']);
    const res = await c
      .raft(l)
      .clientWriteMany(Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: i })));
    const snap = await c.raft(l).trigger.snapshot();
    expect(await c.raft(l).trigger.purgeLog(snap?.index ?? 0)).toEqual(snap);
    await c.raft(l).addLearner('d', { addr: 'd' });
    await c.applied(res[39]?.logId.index ?? 0, ['d']);
    expect(c.router.count('fullSnapshot', { to: 'd' })).toBeGreaterThan(0);
    expect(kv(c.node('d'))).toEqual(kv(c.node(l)));
    expect(c.raft('d').metrics.current.snapshot).toEqual(snap);
  });

  it('a received snapshot is spooled chunk by chunk into the state machine sink and reported applied once installed; a failed or broken transfer is discarded and retried, the node runs on', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], {
      config: { maxInSnapshotLogToKeep: 0, snapshotChunkBytes: 16 },
    });
    const spool = { writes: 0, finished: 0, discarded: 0, failWrites: 1, open: 0 };
    await c.start('d', {
      // A sink that records what it is asked to do, and fails the first transfer's writes (a full disk).
      wrap: (sm) =>
        withParts(sm, {
          beginReceivingSnapshot: async (): Promise<SnapshotSink> => {
            const chunks: Uint8Array[] = [];
            spool.open++;
            return {
              write: async (chunk) => {
                if (spool.failWrites > 0) {
                  spool.failWrites--;
                  throw new Error('ENOSPC: no space left on device');
                }
                spool.writes++;
                chunks.push(chunk.slice());
              },
              finish: async () => {
                spool.finished++;
                return snapshotDataOf(Buffer.concat(chunks), 7);
              },
              discard: async () => {
                spool.discarded++;
                spool.open--;
              },
            };
          },
        }),
    });
    const l = await c.leader(['a', 'b', 'c']);
    const res = await c
      .raft(l)
      .clientWriteMany(Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i })));
    const snap = await c.raft(l).trigger.snapshot();
    await c.raft(l).trigger.purgeLog(snap?.index ?? 0);
    // The second transfer breaks half-way: its data stream ends in an error.
    const d = c.raft('d');
    let transfers = 0;
    const handler: RaftRpcHandler = {
      appendEntries: (r) => d.appendEntries(r),
      vote: (r) => d.vote(r),
      streamAppend: (input, o) => d.streamAppend(input, o),
      transferLeader: (r) => d.transferLeader(r),
      installFullSnapshot: (vote, meta, data) => {
        transfers++;
        if (transfers !== 2) return d.installFullSnapshot(vote, meta, data);
        return d.installFullSnapshot(
          vote,
          meta,
          (async function* () {
            let n = 0;
            for await (const chunk of data) {
              if (++n > 3) throw new Error('connection reset');
              yield chunk;
            }
          })(),
        );
      },
    };
    c.router.register('d', handler);
    await c.raft(l).addLearner('d', { addr: 'd' }, { blocking: false });
    await c.applied(res[29]?.logId.index ?? 0, ['d']);
    // Reported applied only once the state machine holds the snapshot: a reader finds the state there.
    expect(kv(c.node('d'))).toEqual(kv(c.node(l)));
    expect(c.raft('d').metrics.current.error).toBeNull();
    expect(transfers).toBeGreaterThanOrEqual(3);
    // Every transfer got a sink and gave it back; only the good one was finished, in many chunks.
    await vi.waitFor(() => expect(spool.open).toBe(0));
    expect(spool.discarded).toBe(transfers);
    expect(spool.finished).toBe(1);
    expect(spool.writes).toBeGreaterThan(10);
  });

  it('a follower reports a received snapshot applied only once its state machine installed it', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { config: { maxInSnapshotLogToKeep: 0 } });
    // A state machine that takes its time to install (a big snapshot, a slow disk).
    await c.start('d', {
      wrap: (sm) =>
        withParts(sm, {
          installSnapshot: async (meta, data) => {
            await delay(200);
            await sm.installSnapshot(meta, data);
          },
        }),
    });
    const l = await c.leader(['a', 'b', 'c']);
    await c.raft(l).clientWriteMany(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: i })));
    const snap = await c.raft(l).trigger.snapshot();
    await c.raft(l).trigger.purgeLog(snap?.index ?? 0);
    await c.raft(l).addLearner('d', { addr: 'd' }, { blocking: false });
    await c
      .raft('d')
      .wait(WAIT)
      .appliedIndex(snap?.index ?? 0);
    expect(kv(c.node('d'))).toEqual(kv(c.node(l)));
  });

  it('a stop during a snapshot install discards the received data only after the install ended, and before shutdown resolves', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], { config: { maxInSnapshotLogToKeep: 0 } });
    const events: string[] = [];
    let discarded = false;
    await c.start('d', {
      wrap: (sm) =>
        withParts(sm, {
          // Opens something slow (a transaction) before it reads the data.
          installSnapshot: async (meta, data) => {
            events.push('install started');
            await delay(300);
            events.push(discarded ? 'install read discarded data' : 'install read');
            await sm.installSnapshot(meta, data);
            events.push('install ended');
          },
          beginReceivingSnapshot: async (): Promise<SnapshotSink> => {
            const chunks: Uint8Array[] = [];
            return {
              write: async (chunk) => {
                chunks.push(chunk.slice());
              },
              finish: async () => snapshotDataOf(Buffer.concat(chunks)),
              discard: async () => {
                discarded = true;
                events.push('discarded');
              },
            };
          },
        }),
    });
    const l = await c.leader(['a', 'b', 'c']);
    await c.raft(l).clientWriteMany(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: i })));
    const snap = await c.raft(l).trigger.snapshot();
    await c.raft(l).trigger.purgeLog(snap?.index ?? 0);
    await c.raft(l).addLearner('d', { addr: 'd' }, { blocking: false });
    await vi.waitFor(() => expect(events).toContain('install started'), { timeout: 10_000 });
    await c.raft('d').shutdown();
    events.push('shutdown resolved');
    expect(events).toEqual([
      'install started',
      'install read',
      'install ended',
      'discarded',
      'shutdown resolved',
    ]);
  });

  it('a stop interrupts a transfer whose stream stalls: the sink is discarded before shutdown resolves', async () => {
    c = await TestCluster.create(['a', 'b', 'c'], {
      config: { maxInSnapshotLogToKeep: 0, snapshotChunkBytes: 16 },
    });
    const events: string[] = [];
    await c.start('d', {
      wrap: (sm) =>
        withParts(sm, {
          beginReceivingSnapshot: async (): Promise<SnapshotSink> => ({
            write: async () => {
              if (!events.includes('writing')) events.push('writing');
            },
            finish: async () => snapshotDataOf(new Uint8Array()),
            discard: async () => {
              events.push('discarded');
            },
          }),
        }),
    });
    // The leader's stream sends two chunks, then nothing more, ever (a hung connection).
    const d = c.raft('d');
    c.router.register('d', {
      appendEntries: (r) => d.appendEntries(r),
      vote: (r) => d.vote(r),
      streamAppend: (input, o) => d.streamAppend(input, o),
      transferLeader: (r) => d.transferLeader(r),
      installFullSnapshot: (vote, meta, data) =>
        d.installFullSnapshot(
          vote,
          meta,
          (async function* () {
            let n = 0;
            for await (const chunk of data) {
              if (++n > 2) await new Promise(() => {});
              yield chunk;
            }
          })(),
        ),
    });
    const l = await c.leader(['a', 'b', 'c']);
    await c.raft(l).clientWriteMany(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: i })));
    const snap = await c.raft(l).trigger.snapshot();
    await c.raft(l).trigger.purgeLog(snap?.index ?? 0);
    await c.raft(l).addLearner('d', { addr: 'd' }, { blocking: false });
    await vi.waitFor(() => expect(events).toContain('writing'), { timeout: 10_000 });
    await d.shutdown();
    events.push('shutdown resolved');
    expect(events).toEqual(['writing', 'discarded', 'shutdown resolved']);
  });

  it('a snapshot to a node that never answers does not block writes to the others', async () => {
    c = await TestCluster.create(['a', 'b', 'c', 'd'], {
      voters: ['a', 'b', 'c'],
      config: { maxInSnapshotLogToKeep: 0 },
    });
    const l = await c.leader(['a', 'b', 'c']);
    await c.raft(l).clientWriteMany(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: i })));
    const snap = await c.raft(l).trigger.snapshot();
    await c.raft(l).trigger.purgeLog(snap?.index ?? 0);
    c.router.before('fullSnapshot', (ctx) => (ctx.to === 'd' ? new Promise(() => {}) : undefined));
    await c.raft(l).addLearner('d', { addr: 'd' }, { blocking: false });
    const res = [];
    for (let i = 0; i < 20; i++) res.push(await c.raft(l).clientWrite({ key: 'after', value: i }));
    await c.applied(res[19]?.logId.index ?? 0, ['a', 'b', 'c']);
    expect(c.raft(l).metrics.current.state).toBe('Leader');
    expect(c.raft('d').metrics.current.lastApplied).toBeNull();
  });
});
