import type { LogId, NodeId } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import type { IoPosition } from '../src/stream-options.ts';
import { ReplicationStreams } from '../src/stream-set.ts';
import {
  CountingReader,
  FakeFollower,
  FakeNetwork,
  RecordingCore,
  VirtualClock,
} from '../src/testing/index.ts';
import { Watch } from '../src/watch.ts';
import { entries, lastOf, leaderVote } from './harness.ts';

function cluster(ids: NodeId[]) {
  const clock = new VirtualClock();
  const log = entries(5, 0, 200);
  const core = new RecordingCore();
  const followers = new Map<NodeId, FakeFollower>();
  const nets = new Map<string, FakeNetwork>();
  for (const id of ids) followers.set(id, new FakeFollower());
  let nextId = 100;
  const streams = new ReplicationStreams({
    leaderVote,
    clock,
    core,
    ioAccepted: new Watch<IoPosition>({ vote: leaderVote, logId: lastOf(log) }),
    ioSubmitted: new Watch<IoPosition>({ vote: leaderVote, logId: lastOf(log) }),
    committed: new Watch<LogId | null>(null),
    newReader: () => new CountingReader(log),
    newClient: (id, _node, purpose) => {
      const net = new FakeNetwork(clock, followers.get(id) as FakeFollower, { delayMs: 5 });
      nets.set(`${id}/${purpose}`, net);
      return net;
    },
    config: { maxPayloadEntries: 10 },
    nextStreamId: () => nextId++,
  });
  const targets = (...names: NodeId[]) => names.map((id) => ({ id, node: { addr: `${id}:1` } }));
  const net = (id: NodeId) => nets.get(`${id}/replication`) as FakeNetwork;
  return { clock, log, core, followers, streams, targets, net };
}

describe('ReplicationStreams', () => {
  it('keeps surviving streams (same id, same in-flight state) when a learner is added', async () => {
    const c = cluster(['B', 'C', 'D']);
    c.streams.rebuild(c.targets('B', 'C'), { closeOldStreams: true });
    c.streams.replicate('B', { inflightId: 11, payload: { type: 'logsSince', prev: null } });
    await c.clock.run(3); // requests sent, none answered yet
    const b = c.streams.get('B')?.stream;
    const before = { id: b?.id, inflightId: b?.inflightId, inflight: b?.inflightRequests, state: b?.state };
    expect(before.inflight).toBeGreaterThan(0);
    const change = c.streams.rebuild(c.targets('B', 'C', 'D'), { closeOldStreams: false });
    expect(change).toEqual({ started: ['D'], closed: [] });
    const after = c.streams.get('B')?.stream;
    expect(after).toBe(b);
    expect({
      id: after?.id,
      inflightId: after?.inflightId,
      inflight: after?.inflightRequests,
      state: after?.state,
    }).toEqual(before);
    await c.clock.run(500);
    expect(c.followers.get('B')?.log).toEqual(c.log);
    expect(c.net('B').streamsOpened).toBe(1);
    expect(c.streams.streamId('D')).not.toBe(b?.id);
    c.streams.closeAll();
  });

  it('closes a removed target whose RPC hangs forever, without waiting for it', async () => {
    const c = cluster(['B', 'C']);
    c.streams.rebuild(c.targets('B', 'C'), { closeOldStreams: true });
    c.net('C').hang = true;
    c.streams.replicate('C', {
      inflightId: 1,
      payload: { type: 'logs', prev: null, last: { term: 5, index: 3 } },
    });
    await c.clock.run(10);
    const stream = c.streams.get('C')?.stream;
    expect(stream?.state).toBe('running');
    expect(c.streams.rebuild(c.targets('B'), { closeOldStreams: false })).toEqual({
      started: [],
      closed: ['C'],
    });
    expect(stream?.state).toBe('closed');
    let ended = false;
    void stream?.done.then(() => (ended = true));
    await c.clock.run(0);
    expect(ended).toBe(true);
    expect(c.net('C').closes).toBe(1);
    expect(c.streams.targets()).toEqual(['B']);
    expect(() =>
      c.streams.replicate('C', { inflightId: 2, payload: { type: 'logsSince', prev: null } }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    c.streams.closeAll();
  });

  it('makes late notifications of replaced streams recognizably stale', async () => {
    const c = cluster(['B']);
    c.streams.rebuild(c.targets('B'), { closeOldStreams: true });
    c.streams.replicate('B', {
      inflightId: 1,
      payload: { type: 'logs', prev: null, last: { term: 5, index: 0 } },
    });
    await c.clock.run(20);
    const [old] = c.core.ofType('progress');
    expect(old).toBeDefined();
    expect(c.streams.isCurrent(old as NonNullable<typeof old>)).toBe(true);
    // A slow RPC of the old stream is still out when the streams are replaced.
    c.streams.replicate('B', {
      inflightId: 2,
      payload: { type: 'logs', prev: null, last: { term: 5, index: 1 } },
    });
    await c.clock.run(1);
    c.streams.rebuild(c.targets('B'), { closeOldStreams: true });
    await c.clock.run(50);
    // The old stream's pending reply was never reported, and its earlier event is now stale.
    expect(c.core.ofType('progress')).toHaveLength(1);
    expect(c.streams.isCurrent(old as NonNullable<typeof old>)).toBe(false);
    c.streams.replicate('B', {
      inflightId: 3,
      payload: { type: 'logs', prev: null, last: { term: 5, index: 1 } },
    });
    await c.clock.run(20);
    const fresh = c.core.ofType('progress')[1];
    expect(fresh?.streamId).not.toBe(old?.streamId);
    expect(c.streams.isCurrent(fresh as NonNullable<typeof fresh>)).toBe(true);
    c.streams.closeAll();
  });

  it('refuses duplicate targets and use after closeAll', () => {
    const c = cluster(['B']);
    expect(() => c.streams.rebuild(c.targets('B', 'B'), { closeOldStreams: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
    c.streams.closeAll();
    expect(() => c.streams.rebuild(c.targets('B'), { closeOldStreams: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
  });

  it('validates its config', () => {
    expect(
      () =>
        new ReplicationStreams({
          ...({} as ConstructorParameters<typeof ReplicationStreams>[0]),
          config: { maxInflightRequests: 0 },
        }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', field: 'maxInflightRequests' }));
  });

  it('broadcasts heartbeats to every target through their own clients', async () => {
    const c = cluster(['B', 'C']);
    c.streams.rebuild(c.targets('B', 'C'), { closeOldStreams: true });
    c.streams.broadcastHeartbeat(() => null, null);
    await c.clock.run(20);
    const acks = c.core.ofType('heartbeatAck');
    expect(acks.map((a) => a.target).sort()).toEqual(['B', 'C']);
    expect(acks.every((a) => c.streams.isCurrent(a))).toBe(true);
    expect(c.net('B').requestsSent).toBe(0);
    c.streams.closeAll();
  });
});
