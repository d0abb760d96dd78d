import { hasErrorCode, type LogId, type RaftNetwork } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { resolveReplicationConfig } from '../src/config.ts';
import type { IoPosition } from '../src/stream-options.ts';
import { ReplicationStream } from '../src/target-stream.ts';
import { CountingReader, RecordingCore, VirtualClock } from '../src/testing/index.ts';
import { Watch } from '../src/watch.ts';
import { entries, leaderVote, rig } from './harness.ts';

describe('a fixed range waits until its entries are readable', () => {
  it('sends nothing before ioSubmitted covers the range, then sends it whole', async () => {
    const r = rig({ leaderLog: entries(5, 0, 3), net: { delayMs: 1 } });
    r.ioSubmitted.set({ vote: leaderVote, logId: { term: 5, index: 0 } });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logs', prev: null, last: { term: 5, index: 2 } } });
    await r.clock.run(50);
    expect(r.reader.reads).toBe(0);
    expect(r.net.requestsSent).toBe(0);
    r.ioSubmitted.set({ vote: leaderVote, logId: { term: 5, index: 2 } });
    await r.clock.run(50);
    expect(r.net.requestsSent).toBe(1);
    expect(r.core.ofType('progress').map((e) => e.matching)).toEqual([{ term: 5, index: 2 }]);
  });

  it('stops without reading when the leader changes while it waits', async () => {
    const r = rig({ leaderLog: entries(5, 0, 3), net: { delayMs: 1 } });
    r.ioSubmitted.set({ vote: leaderVote, logId: null });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logs', prev: null, last: { term: 5, index: 2 } } });
    await r.clock.run(10);
    r.ioAccepted.set({ vote: { term: 6, nodeId: 'X', committed: false }, logId: { term: 5, index: 2 } });
    await r.clock.run(10);
    expect(r.stream.state).toBe('closed');
    expect(r.reader.reads).toBe(0);
    expect(r.core.events).toEqual([]);
  });
});

describe('replies from a target are checked', () => {
  function streamWith(network: RaftNetwork) {
    const clock = new VirtualClock();
    const log = entries(5, 0, 3);
    const last: LogId = { term: 5, index: 2 };
    const core = new RecordingCore();
    const stream = new ReplicationStream({
      target: 'F',
      streamId: 1,
      leaderVote,
      network,
      reader: new CountingReader(log),
      ioAccepted: new Watch<IoPosition>({ vote: leaderVote, logId: last }),
      ioSubmitted: new Watch<IoPosition>({ vote: leaderVote, logId: last }),
      committed: new Watch<LogId | null>(null),
      core,
      config: resolveReplicationConfig({}),
      clock,
    });
    return { clock, core, stream, last };
  }

  it('reports a malformed AppendEntries reply as a transport error, never as progress', async () => {
    const bogus = async () => ({ type: 'success!' }) as never;
    const { clock, core, stream, last } = streamWith({
      appendEntries: bogus,
      vote: bogus,
      fullSnapshot: bogus,
    });
    stream.replicate({ inflightId: 1, payload: { type: 'logs', prev: null, last } });
    await clock.run(20);
    const errors = core.ofType('transportError');
    expect(errors).toHaveLength(1);
    expect(hasErrorCode(errors[0]?.error, 'INVALID_REQUEST')).toBe(true);
    expect(core.ofType('progress')).toEqual([]);
    stream.close();
  });

  it('reports a malformed reply in pipeline mode (one append at a time) as a transport error', async () => {
    const bogus = async () => ({ kind: 'ok' }) as never;
    const { clock, core, stream } = streamWith({ appendEntries: bogus, vote: bogus, fullSnapshot: bogus });
    stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await clock.run(20);
    const errors = core.ofType('transportError');
    expect(errors).toHaveLength(1);
    expect(hasErrorCode(errors[0]?.error, 'INVALID_REQUEST')).toBe(true);
    expect(core.ofType('progress')).toEqual([]);
    stream.close();
  });
});
