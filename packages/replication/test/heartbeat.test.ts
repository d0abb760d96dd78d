import type { AppendEntriesRequest, AppendEntriesResponse, RpcOptions } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { HeartbeatWorker } from '../src/heartbeat.ts';
import { FakeFollower, FakeNetwork, RecordingCore, VirtualClock } from '../src/testing/index.ts';
import { entries, leaderVote } from './harness.ts';

function worker(net: Pick<FakeNetwork, 'appendEntries'>, clock: VirtualClock, core = new RecordingCore()) {
  const w = new HeartbeatWorker({
    target: 'F',
    streamId: 42,
    leaderVote,
    network: net,
    core,
    heartbeatIntervalMs: 50,
    clock,
  });
  return { w, core };
}

describe('HeartbeatWorker', () => {
  it('keeps only the newest heartbeat while one is in flight', async () => {
    const clock = new VirtualClock();
    const follower = new FakeFollower(entries(5, 0, 3));
    const net = new FakeNetwork(clock, follower, { delayMs: 10 });
    const seen: AppendEntriesRequest[] = [];
    const spy = {
      appendEntries: (req: AppendEntriesRequest, opts?: RpcOptions) => {
        seen.push(req);
        return net.appendEntries(req, opts);
      },
    };
    const { w, core } = worker(spy, clock);
    w.send({ matching: { term: 5, index: 0 }, committed: null });
    await clock.run(1);
    w.send({ matching: { term: 5, index: 1 }, committed: null });
    w.send({ matching: { term: 5, index: 2 }, committed: { term: 5, index: 1 } });
    await clock.run(100);
    expect(seen.map((r) => r.prevLogId?.index)).toEqual([0, 2]);
    expect(seen.every((r) => r.entries.length === 0)).toBe(true);
    expect(core.events).toEqual([
      { type: 'heartbeatAck', target: 'F', streamId: 42, sentAt: 0, matching: { term: 5, index: 0 } },
      { type: 'heartbeatAck', target: 'F', streamId: 42, sentAt: 20, matching: { term: 5, index: 2 } },
    ]);
    expect(follower.committed).toEqual({ term: 5, index: 1 });
    w.close();
    await w.done;
  });

  it('times out at the heartbeat interval and goes on with the next heartbeat', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const net = {
      appendEntries: (_req: AppendEntriesRequest): Promise<AppendEntriesResponse> => {
        calls += 1;
        // The first call hangs forever, ignoring its signal; the next ones answer at once.
        return calls === 1 ? new Promise(() => {}) : Promise.resolve({ type: 'success' });
      },
    };
    const { w, core } = worker(net, clock);
    w.send({ matching: null, committed: null });
    await clock.run(10);
    w.send({ matching: null, committed: null });
    await clock.run(39);
    expect(calls).toBe(1);
    await clock.run(2);
    expect(calls).toBe(2);
    expect(core.events).toEqual([
      { type: 'heartbeatAck', target: 'F', streamId: 42, sentAt: 50, matching: null },
    ]);
    expect(w.sent).toBe(2);
    expect(w.answered).toBe(1);
    w.close();
  });

  it('reports a higher vote, and a conflict as an ack carrying the refused prevLogId', async () => {
    const clock = new VirtualClock();
    const follower = new FakeFollower();
    const net = new FakeNetwork(clock, follower, { delayMs: 1 });
    const { w, core } = worker(net, clock);
    w.send({ matching: { term: 5, index: 9 }, committed: null });
    await clock.run(5);
    follower.vote = { term: 6, nodeId: 'Z', committed: false };
    w.send({ matching: null, committed: null });
    await clock.run(5);
    expect(core.events).toEqual([
      { type: 'heartbeatAck', target: 'F', streamId: 42, sentAt: 0, refused: { term: 5, index: 9 } },
      { type: 'higherVote', target: 'F', streamId: 42, inflightId: null, vote: follower.vote },
    ]);
    w.close();
    w.send({ matching: null, committed: null });
    await clock.run(5);
    expect(w.sent).toBe(2);
  });
});
