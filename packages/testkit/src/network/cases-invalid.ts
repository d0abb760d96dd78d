/**
 * Malformed-request cases: well-framed requests whose content is wrong (bad votes, negative or
 * fractional indexes, entries that skip an index or have the wrong shape, values that are not
 * objects) sent through the transport under test. A transport checks framing, size and
 * authentication only; content is validated once, by the receiving runtime (here the suite's
 * handler, with the validators of `@flotilla/types`). So each case expects the request to be
 * delivered as sent, the handler's `InvalidRequestError` to come back to the caller as a
 * `RemoteError` whose `remoteCode` is `INVALID_REQUEST`, and the connection to serve a valid call
 * afterwards. Must never validate anything itself: the proof is that the handler's error arrives.
 */
import {
  type AppendEntriesRequest,
  ErrorCode,
  type RaftNetwork,
  type SnapshotMeta,
  type StreamAppendResult,
  type TransferLeaderRequest,
  type Vote,
  type VoteRequest,
} from '@flotilla/types';
import { expect } from 'vitest';
import type { ConformanceCase } from '../case.ts';
import { expectRejectCode, leaderVote, sampleMembership, within } from '../testing/fixtures.ts';
import { appendRequest } from './cases-unary.ts';
import { type NetworkContext, withNetwork } from './context.ts';
import { requestLastLogId } from './handler.ts';
import type { NetworkHarness } from './harness.ts';

/** Awaits `call` and checks it failed with the handler's invalid-request error, carried back whole. */
async function expectInvalid(call: Promise<unknown>, what: string): Promise<void> {
  const err = await expectRejectCode(call, ErrorCode.Remote, what);
  const remoteCode = (err as { remoteCode?: unknown }).remoteCode;
  if (remoteCode !== ErrorCode.InvalidRequest)
    throw new Error(`${what}: expected remoteCode ${ErrorCode.InvalidRequest}, got ${String(remoteCode)}`, {
      cause: err,
    });
}

/** Any value, typed as what the client method takes: the cases send what the type forbids. */
function forged<T>(x: unknown): T {
  return x as T;
}

const candidate: Vote = { term: 3, nodeId: 'n1', committed: false };

const meta: SnapshotMeta = {
  lastLogId: { term: 2, index: 40 },
  lastMembership: { logId: { term: 1, index: 3 }, membership: sampleMembership() },
  snapshotId: 'snap-2-40',
};

async function* chunks(): AsyncIterable<Uint8Array> {
  yield new Uint8Array([1, 2, 3]);
}

async function collect(it: AsyncIterable<StreamAppendResult>): Promise<StreamAppendResult[]> {
  const out: StreamAppendResult[] = [];
  await within(
    (async () => {
      for await (const r of it) out.push(r);
    })(),
    10_000,
    'the stream did not end',
  );
  return out;
}

async function* yieldAll<T>(xs: readonly T[]): AsyncIterable<T> {
  for (const x of xs) yield x;
}

/** A valid call of each kind, made after a refused one: the connection must still serve it. */
const recover = {
  async appendEntries({ client, handler }: NetworkContext): Promise<void> {
    const heartbeat = appendRequest(1, -1, 0);
    const withEntries = appendRequest(1, -1, 2);
    expect(await client.appendEntries(heartbeat, { timeoutMs: 5_000 })).toEqual({ type: 'success' });
    expect(await client.appendEntries(withEntries, { timeoutMs: 5_000 })).toEqual({ type: 'success' });
    expect(handler.appends).toEqual([heartbeat, withEntries]);
  },
  async vote({ client, handler }: NetworkContext): Promise<void> {
    const req: VoteRequest = { vote: candidate, lastLogId: null };
    expect((await client.vote(req, { timeoutMs: 5_000 })).voteGranted).toBe(false);
    expect(handler.votes).toEqual([req]);
  },
  async transferLeader({ client, handler }: NetworkContext): Promise<void> {
    const req: TransferLeaderRequest = { from: leaderVote(2), to: 'n2', lastLogId: null };
    await client.transferLeader?.(req, { timeoutMs: 5_000 });
    expect(handler.transfers).toEqual([req]);
  },
  async fullSnapshot({ client, handler }: NetworkContext): Promise<void> {
    await client.fullSnapshot(leaderVote(2), { meta, data: chunks() }, { timeoutMs: 10_000 });
    expect(handler.snapshots.map((s) => s.meta)).toEqual([meta]);
  },
};

type Send = (client: RaftNetwork) => Promise<unknown>;

const ok = appendRequest(1, -1, 2);
const badAppends: [string, unknown][] = [
  ['without a committed leader vote', { ...ok, vote: { term: 1, nodeId: 'n1', committed: false } }],
  ['with a negative vote term', { ...ok, vote: { term: -1, nodeId: 'n1', committed: true } }],
  ['with a negative prevLogId index', { ...appendRequest(1, 3, 0), prevLogId: { term: 1, index: -4 } }],
  ['with a fractional leaderCommit index', { ...ok, leaderCommit: { term: 1, index: 0.5 } }],
  [
    'whose entries skip an index',
    { ...ok, entries: [ok.entries[0], { ...ok.entries[1], logId: { term: 1, index: 5 } }] },
  ],
  [
    'whose entry has an unknown payload type',
    { ...ok, entries: [{ logId: { term: 1, index: 0 }, payload: { type: 'x' } }] },
  ],
  [
    'whose normal entry carries no bytes',
    { ...ok, entries: [{ logId: { term: 1, index: 0 }, payload: { type: 'normal', data: 'text' } }] },
  ],
  ['whose entries are not an array', { ...ok, entries: { 0: ok.entries[0] } }],
  ['that is not an object', 'appendEntries'],
];
const badVotes: [string, unknown][] = [
  ['without a candidate', { vote: { term: 3, nodeId: null, committed: false }, lastLogId: null }],
  ['with a negative lastLogId index', { vote: candidate, lastLogId: { term: 1, index: -1 } }],
  ['with a lastLogId term above the vote', { vote: candidate, lastLogId: { term: 4, index: 1 } }],
  ['whose preVote is not a boolean', { vote: candidate, lastLogId: null, preVote: 'yes' }],
  ['that is not an object', 42],
];
const badTransfers: [string, unknown][] = [
  ['from an uncommitted vote', { from: candidate, to: 'n2', lastLogId: null }],
  ['to no node id', { from: leaderVote(2), to: '', lastLogId: null }],
  ['that is not an object', [1, 2]],
];
const badSnapshots: [string, unknown, unknown][] = [
  ['from an uncommitted vote', candidate, meta],
  [
    'whose meta has a negative lastLogId index',
    leaderVote(2),
    { ...meta, lastLogId: { term: 2, index: -40 } },
  ],
  ['whose meta has no membership', leaderVote(2), { ...meta, lastMembership: null }],
  ['whose meta is not an object', leaderVote(2), 'meta'],
];

/** The malformed-request cases for unary calls and snapshots. */
export function invalidUnaryCases(harness: NetworkHarness): ConformanceCase[] {
  const c = (name: string, send: Send, after: (ctx: NetworkContext) => Promise<void>): ConformanceCase => ({
    name: `invalid request: ${name} is refused with INVALID_REQUEST and the connection serves on`,
    run: () =>
      withNetwork(harness, async (ctx) => {
        // `transferLeader` is optional in a client; without it there is nothing to send.
        if (after === recover.transferLeader && ctx.client.transferLeader === undefined) return;
        await expectInvalid(send(ctx.client), name);
        await after(ctx);
      }),
  });
  return [
    ...badAppends.map(([what, req]) =>
      c(
        `appendEntries ${what}`,
        (client) => client.appendEntries(forged<AppendEntriesRequest>(req), { timeoutMs: 5_000 }),
        recover.appendEntries,
      ),
    ),
    ...badVotes.map(([what, req]) =>
      c(
        `vote ${what}`,
        (client) => client.vote(forged<VoteRequest>(req), { timeoutMs: 5_000 }),
        recover.vote,
      ),
    ),
    ...badTransfers.map(([what, req]) =>
      c(
        `transferLeader ${what}`,
        async (client) => client.transferLeader?.(forged<TransferLeaderRequest>(req), { timeoutMs: 5_000 }),
        recover.transferLeader,
      ),
    ),
    ...badSnapshots.map(([what, vote, snapshotMeta]) =>
      c(
        `fullSnapshot ${what}`,
        (client) =>
          client.fullSnapshot(
            forged<Vote>(vote),
            { meta: forged<SnapshotMeta>(snapshotMeta), data: chunks() },
            { timeoutMs: 10_000 },
          ),
        recover.fullSnapshot,
      ),
    ),
  ];
}

/** The malformed-request cases for `streamAppend`. */
export function invalidStreamCases(harness: NetworkHarness): ConformanceCase[] {
  const c = (what: string, bad: unknown): ConformanceCase => ({
    name: `invalid request: a streamed request ${what} ends the stream with INVALID_REQUEST; a new stream serves on`,
    run: () =>
      withNetwork(harness, async ({ client, handler }) => {
        const stream = client.streamAppend?.bind(client);
        if (stream === undefined) throw new Error('the client has no streamAppend');
        const first = appendRequest(1, -1, 2);
        const acked: StreamAppendResult[] = [];
        const results = stream(yieldAll([first, forged<AppendEntriesRequest>(bad)]), { timeoutMs: 5_000 });
        await expectInvalid(
          (async () => {
            for await (const r of results) acked.push(r);
          })(),
          `streamAppend ${what}`,
        );
        expect(handler.streamed).toEqual([first]);
        // Acks may be coalesced, but never cover the refused request.
        for (const r of acked) expect(r).toEqual({ type: 'matched', matching: requestLastLogId(first) });
        const next = appendRequest(1, 1, 2);
        expect(await collect(stream(yieldAll([next]), { timeoutMs: 5_000 }))).toEqual([
          { type: 'matched', matching: requestLastLogId(next) },
        ]);
        expect(handler.streamed).toEqual([first, next]);
      }),
  });
  const after = { ...appendRequest(1, 1, 1) };
  return [
    c('with a negative prevLogId index', { ...after, prevLogId: { term: 1, index: -2 } }),
    c('without a committed leader vote', { ...after, vote: candidate }),
    c('whose entry has the wrong shape', {
      ...after,
      entries: [{ logId: { term: 1, index: 2 }, payload: 7 }],
    }),
    c('whose entries are not an array', { ...after, entries: 'entries' }),
    c('that is not an object', 'streamAppend'),
  ];
}
