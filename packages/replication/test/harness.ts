import { type Entry, type LogId, normalEntry, type Vote } from '@flotilla/types';
import { type ReplicationConfigInput, resolveReplicationConfig } from '../src/config.ts';
import type { IoPosition } from '../src/stream-options.ts';
import { ReplicationStream } from '../src/target-stream.ts';
import {
  CountingReader,
  FakeFollower,
  FakeNetwork,
  type FakeNetworkOptions,
  RecordingCore,
  VirtualClock,
} from '../src/testing/index.ts';
import { Watch } from '../src/watch.ts';

export const leaderVote: Vote = { term: 5, nodeId: 'L', committed: true };

/** `n` entries of term `term` starting at `from`, each with `bytes` bytes of data. */
export function entries(term: number, from: number, n: number, bytes = 8): Entry[] {
  return Array.from({ length: n }, (_, i) =>
    normalEntry(term, from + i, new Uint8Array(bytes).fill(i & 0xff)),
  );
}

export function lastOf(log: readonly Entry[]): LogId | null {
  return log[log.length - 1]?.logId ?? null;
}

export interface Rig {
  clock: VirtualClock;
  leaderLog: Entry[];
  reader: CountingReader;
  follower: FakeFollower;
  net: FakeNetwork;
  core: RecordingCore;
  ioAccepted: Watch<IoPosition>;
  ioSubmitted: Watch<IoPosition>;
  committed: Watch<LogId | null>;
  stream: ReplicationStream;
  /** Appends to the leader's log and publishes it as submitted. */
  append(es: Entry[]): void;
}

export function rig(
  opts: {
    leaderLog?: Entry[];
    followerLog?: Entry[];
    net?: FakeNetworkOptions;
    config?: ReplicationConfigInput;
    streamId?: number;
  } = {},
): Rig {
  const clock = new VirtualClock();
  const leaderLog = opts.leaderLog ?? [];
  const reader = new CountingReader(leaderLog);
  const follower = new FakeFollower(opts.followerLog ?? []);
  const net = new FakeNetwork(clock, follower, opts.net);
  const core = new RecordingCore();
  const ioAccepted = new Watch<IoPosition>({ vote: leaderVote, logId: lastOf(leaderLog) });
  const ioSubmitted = new Watch<IoPosition>({ vote: leaderVote, logId: lastOf(leaderLog) });
  const committed = new Watch<LogId | null>(null);
  const stream = new ReplicationStream({
    target: 'F',
    streamId: opts.streamId ?? 1,
    leaderVote,
    network: net,
    reader,
    ioAccepted,
    ioSubmitted,
    committed,
    core,
    config: resolveReplicationConfig(opts.config),
    clock,
  });
  return {
    clock,
    leaderLog,
    reader,
    follower,
    net,
    core,
    ioAccepted,
    ioSubmitted,
    committed,
    stream,
    append(es) {
      leaderLog.push(...es);
      ioAccepted.set({ vote: leaderVote, logId: lastOf(leaderLog) });
      ioSubmitted.set({ vote: leaderVote, logId: lastOf(leaderLog) });
    },
  };
}

/** The highest `matching` reported in progress events. */
export function lastMatching(core: RecordingCore): LogId | null | undefined {
  const p = core.ofType('progress');
  return p[p.length - 1]?.matching;
}
