import {
  type RaftNetwork,
  type Snapshot,
  type SnapshotMeta,
  type SnapshotOptions,
  type SnapshotResponse,
  sleep,
  snapshotDataOf,
  type Vote,
} from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { resolveReplicationConfig } from '../src/config.ts';
import type { SnapshotSource } from '../src/snapshot.ts';
import type { IoPosition } from '../src/stream-options.ts';
import { ReplicationStream } from '../src/target-stream.ts';
import { CountingReader, RecordingCore, VirtualClock } from '../src/testing/index.ts';
import { Watch } from '../src/watch.ts';
import { leaderVote } from './harness.ts';

const meta: SnapshotMeta = {
  lastLogId: { term: 4, index: 99 },
  lastMembership: { logId: null, membership: { configs: [['L']], nodes: { L: { addr: 'l' } } } },
  snapshotId: 's-1',
};

function setup(opts: {
  install?: (vote: Vote, s: Snapshot, o?: SnapshotOptions) => Promise<SnapshotResponse>;
}) {
  const clock = new VirtualClock();
  const core = new RecordingCore();
  const chunks: number[] = [];
  let snapshot: (() => Promise<Snapshot | null>) | null = async () => ({
    meta,
    data: snapshotDataOf(new Uint8Array(10), 10),
  });
  const source: SnapshotSource = { getCurrentSnapshot: () => (snapshot as () => Promise<Snapshot | null>)() };
  const network: RaftNetwork = {
    appendEntries: async () => ({ type: 'success' }),
    vote: async () => ({ vote: leaderVote, voteGranted: false, lastLogId: null }),
    fullSnapshot:
      opts.install ??
      (async (vote, s) => {
        for await (const c of s.data) {
          chunks.push(c.byteLength);
          await sleep(clock, 5);
        }
        return { vote };
      }),
  };
  const stream = new ReplicationStream({
    target: 'F',
    streamId: 3,
    leaderVote,
    network,
    reader: new CountingReader([]),
    ioAccepted: new Watch<IoPosition>({ vote: leaderVote, logId: null }),
    ioSubmitted: new Watch<IoPosition>({ vote: leaderVote, logId: null }),
    committed: new Watch(null),
    core,
    config: resolveReplicationConfig({
      snapshotChunkBytes: 4,
      installSnapshotTimeoutMs: 1_000,
      backoff: { initialMs: 200, maxMs: 200 },
    }),
    clock,
    snapshots: source,
  });
  return {
    clock,
    core,
    chunks,
    stream,
    setSnapshot: (f: typeof snapshot) => {
      snapshot = f;
    },
  };
}

describe('snapshot transmitter', () => {
  it('sends the current snapshot in chunks and reports it installed', async () => {
    const s = setup({});
    s.stream.replicate({ inflightId: 5, payload: { type: 'snapshot' } });
    await s.clock.run(100);
    expect(s.chunks).toEqual([4, 4, 2]);
    expect(s.core.events).toEqual([
      { type: 'snapshotDone', target: 'F', streamId: 3, inflightId: 5, meta, sentAt: 0 },
    ]);
  });

  it('times out, backs off, and can be cancelled', async () => {
    const s = setup({ install: () => new Promise(() => {}) });
    s.stream.replicate({ inflightId: 1, payload: { type: 'snapshot' } });
    await s.clock.run(999);
    expect(s.core.events).toHaveLength(0);
    await s.clock.run(1);
    const [failed] = s.core.ofType('snapshotFailed');
    expect(failed?.error).toMatchObject({ code: 'RPC_TIMEOUT' });
    expect(failed?.backoffMs).toBe(200);
    // The retry waits out the back-off; closing cancels it and the stalled transfer alike.
    s.stream.replicate({ inflightId: 2, payload: { type: 'snapshot' } });
    await s.clock.run(500);
    s.stream.close();
    await s.clock.run(5_000);
    expect(s.core.events).toHaveLength(1);
    await s.stream.done;
  });

  it('reports a receiver with a higher vote', async () => {
    const higher = { term: 9, nodeId: 'Q', committed: true };
    const s = setup({ install: async () => ({ vote: higher }) });
    s.stream.replicate({ inflightId: 1, payload: { type: 'snapshot' } });
    await s.clock.run(10);
    expect(s.core.events).toEqual([
      { type: 'higherVote', target: 'F', streamId: 3, inflightId: 1, vote: higher },
    ]);
  });

  it('retries later when no snapshot exists yet, but stops for good when reading it fails', async () => {
    const s = setup({});
    s.setSnapshot(async () => null);
    s.stream.replicate({ inflightId: 1, payload: { type: 'snapshot' } });
    await s.clock.run(10);
    expect(s.core.ofType('snapshotFailed')).toHaveLength(1);
    s.setSnapshot(async () => {
      throw new Error('cannot open snapshot');
    });
    s.stream.replicate({ inflightId: 2, payload: { type: 'snapshot' } });
    await s.clock.run(1_000);
    const [fatal] = s.core.ofType('fatal');
    expect(fatal?.error).toMatchObject({ code: 'STORAGE', op: 'snapshot' });
    expect(s.stream.state).toBe('failed');
  });
});
