import { type IoId, ReplicationStream, resolveReplicationConfig, Watch } from '@flotilla/replication';
import {
  CountingReader,
  FakeFollower,
  FakeNetwork,
  RecordingCore,
  realTimerClock,
  VirtualClock,
} from '@flotilla/replication/testing';
import { type Clock, type Entry, type LogId, logIdEquals, normalEntry } from '@flotilla/types';
import type { Bench } from '../harness.ts';

const leaderVote = { term: 1, nodeId: 'L', committed: true };
const maxPayloadEntries = 64;
const maxInflightRequests = 16;

function makeLog(n: number): Entry[] {
  return Array.from({ length: n }, (_, i) => normalEntry(1, i, new Uint8Array(64).fill(i & 0xff)));
}

/**
 * Replicates the whole of `log` to an empty follower through one stream over an in-memory network
 * with `delayMs` per message, pipelined (`streamAppend`) or sequential (one `appendEntries` at a
 * time). Resolves when the last entry is acknowledged. `drive` runs a virtual clock, if any.
 */
async function replicateAll(
  log: Entry[],
  delayMs: number,
  streaming: boolean,
  clock: Clock,
  drive?: (done: () => boolean) => Promise<boolean>,
): Promise<void> {
  const last = log[log.length - 1]?.logId ?? null;
  const core = new RecordingCore();
  let matching: LogId | null = null;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  core.onEvent = (e) => {
    if (e.type === 'progress') {
      matching = e.matching;
      if (logIdEquals(matching, last)) finish();
    } else if (e.type !== 'heartbeatAck') {
      throw new Error(`unexpected replication event ${e.type}`);
    }
  };
  const follower = new FakeFollower();
  const stream = new ReplicationStream({
    target: 'F',
    streamId: 1,
    leaderVote,
    network: new FakeNetwork(clock, follower, { delayMs, streaming }),
    reader: new CountingReader(log),
    ioAccepted: new Watch<IoId>({ vote: leaderVote, logId: last }),
    ioSubmitted: new Watch<IoId>({ vote: leaderVote, logId: last }),
    committed: new Watch<LogId | null>(null),
    core,
    config: resolveReplicationConfig({ maxPayloadEntries, maxInflightRequests }),
    clock,
  });
  stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
  if (drive !== undefined) {
    if (!(await drive(() => logIdEquals(matching, last)))) throw new Error('virtual run did not finish');
  } else {
    await finished;
  }
  stream.close();
  if (follower.log.length !== log.length) throw new Error('follower log incomplete');
}

export const bench: Bench = {
  name: 'replication',
  description:
    'entries/s acknowledged by a pipelined stream vs the sequential fallback at 0, 1 and 5 ms per message',
  async run(ctx) {
    const delays = [0, 1, 5];
    const sizes: Record<number, number> = {
      0: ctx.pick(20_000, 4_000),
      1: ctx.pick(6_000, 2_000),
      5: ctx.pick(3_000, 1_000),
    };
    ctx.params({
      delaysMs: delays.join(','),
      maxPayloadEntries,
      maxInflightRequests,
      entryBytes: 64,
      entriesAt0ms: sizes[0] ?? 0,
      entriesAt1ms: sizes[1] ?? 0,
      entriesAt5ms: sizes[5] ?? 0,
    });
    const virtual: Record<string, number> = {};
    for (const d of delays) {
      const n = sizes[d] ?? 1_000;
      const log = makeLog(n);
      for (const mode of ['pipelined', 'sequential'] as const) {
        await ctx.measure(`${mode}-${d}ms`, { opsPerRep: n, reps: 3, warmup: 1 }, () =>
          replicateAll(log, d, mode === 'pipelined', realTimerClock),
        );
        if (d > 0) {
          // The same run on a virtual clock: the protocol's rate without timer or CPU noise.
          const clock = new VirtualClock();
          await replicateAll(log, d, mode === 'pipelined', clock, (done) => clock.runUntil(done, 10_000_000));
          virtual[`${mode}-${d}ms-virtualEntriesPerSec`] = Math.round((n / clock.now()) * 1000);
        }
      }
      ctx.ratio(`pipelined/sequential-${d}ms`, `pipelined-${d}ms`, `sequential-${d}ms`);
    }
    ctx.result(virtual);
    ctx.note(
      'in-memory fake network (no sockets, no serialization); real timers: setTimeout granularity inflates small delays',
    );
  },
};
