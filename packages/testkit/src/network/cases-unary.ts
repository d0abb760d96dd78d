import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  ErrorCode,
  hasErrorCode,
  NotLeaderError,
  type SnapshotMeta,
} from '@flotilla/types';
import { expect } from 'vitest';
import type { ConformanceCase } from '../case.ts';
import {
  dataFor,
  entriesOf,
  entryAt,
  expectRejectCode,
  leaderVote,
  sampleMembership,
  summarizeBytes,
  within,
} from '../testing/fixtures.ts';
import { type NetworkContext, never, withNetwork } from './context.ts';
import type { NetworkHarness } from './harness.ts';

/** An AppendEntries of `entries` consecutive entries after `prev` (index). */
export function appendRequest(term: number, prev: number, count: number, size = 8): AppendEntriesRequest {
  const entries = [];
  for (let i = prev + 1; i <= prev + count; i++) entries.push(entryAt(term, i, size));
  return {
    vote: leaderVote(term),
    prevLogId: prev < 0 ? null : { term, index: prev },
    entries,
    leaderCommit: prev < 0 ? null : { term, index: prev },
  };
}

/** Unary RPC cases: round-trips, error taxonomy, timeouts, aborts. */
export function unaryCases(harness: NetworkHarness): ConformanceCase[] {
  const c = (name: string, run: (ctx: NetworkContext) => Promise<void>): ConformanceCase => ({
    name,
    run: () => withNetwork(harness, run),
  });
  const meta: SnapshotMeta = {
    lastLogId: { term: 2, index: 40 },
    lastMembership: { logId: { term: 1, index: 3 }, membership: sampleMembership() },
    snapshotId: 'snap-2-40',
  };
  return [
    c('vote: the request arrives as sent and the response comes back', async ({ client, handler }) => {
      const req = { vote: { term: 5, nodeId: 'n1', committed: false }, lastLogId: { term: 4, index: 9 } };
      handler.onVote = async () => ({
        vote: { term: 5, nodeId: 'n1', committed: false },
        voteGranted: true,
        lastLogId: null,
      });
      expect(await client.vote(req, { timeoutMs: 5_000 })).toEqual({
        vote: { term: 5, nodeId: 'n1', committed: false },
        voteGranted: true,
        lastLogId: null,
      });
      expect(handler.votes).toEqual([req]);
    }),
    c('vote: a pre-vote keeps its flag', async ({ client, handler }) => {
      const req = { vote: { term: 6, nodeId: 'n2', committed: false }, lastLogId: null, preVote: true };
      await client.vote(req);
      expect(handler.votes).toEqual([req]);
    }),
    c('appendEntries: entries and every response kind round-trip', async ({ client, handler }) => {
      const responses: AppendEntriesResponse[] = [
        { type: 'success' },
        { type: 'partialSuccess', matching: { term: 3, index: 2 } },
        { type: 'partialSuccess', matching: null },
        { type: 'conflict' },
        { type: 'higherVote', vote: leaderVote(9, 'n3') },
      ];
      const reqs = responses.map((_, i) => appendRequest(3, i * 4 - 1, 4));
      for (const [i, r] of responses.entries()) {
        handler.onAppend = async () => r;
        expect(await client.appendEntries(reqs[i]!)).toEqual(r);
      }
      expect(summarizeBytes(handler.appends)).toEqual(summarizeBytes(reqs));
    }),
    c('appendEntries: a heartbeat without entries round-trips', async ({ client, handler }) => {
      const hb: AppendEntriesRequest = {
        vote: leaderVote(2),
        prevLogId: { term: 2, index: 7 },
        entries: [],
        leaderCommit: { term: 2, index: 7 },
      };
      expect(await client.appendEntries(hb)).toEqual({ type: 'success' });
      expect(summarizeBytes(handler.appends)).toEqual(summarizeBytes([hb]));
    }),
    c('appendEntries: a large request arrives whole', async ({ client, handler }) => {
      const big = appendRequest(1, -1, 256, 4_096);
      await client.appendEntries(big, { timeoutMs: 10_000 });
      expect(handler.appends.length).toBe(1);
      expect(summarizeBytes(handler.appends[0])).toEqual(summarizeBytes(big));
    }),
    c('appendEntries: membership and blank payloads round-trip', async ({ client, handler }) => {
      const req: AppendEntriesRequest = {
        vote: leaderVote(4),
        prevLogId: null,
        entries: [
          { logId: { term: 4, index: 0 }, payload: { type: 'blank' } },
          { logId: { term: 4, index: 1 }, payload: { type: 'membership', membership: sampleMembership() } },
          ...entriesOf(4, 2, 4),
        ],
        leaderCommit: null,
      };
      await client.appendEntries(req);
      expect(summarizeBytes(handler.appends)).toEqual(summarizeBytes([req]));
    }),
    c('concurrent calls each get their own answer', async ({ client, handler }) => {
      // Answer in reverse arrival order.
      const waiting: (() => void)[] = [];
      handler.onAppend = (req) =>
        new Promise((resolve) => {
          waiting.push(() => resolve({ type: 'partialSuccess', matching: req.prevLogId }));
          if (waiting.length === 5) for (const w of waiting.reverse()) w();
        });
      const reqs = [0, 1, 2, 3, 4].map((i) => appendRequest(1, i * 10, 1));
      const got = await within(
        Promise.all(reqs.map((r) => client.appendEntries(r))),
        10_000,
        'concurrent calls',
      );
      expect(got).toEqual(reqs.map((r) => ({ type: 'partialSuccess', matching: r.prevLogId })));
    }),
    c('fullSnapshot: meta, vote and every byte arrive', async ({ client, handler }) => {
      const bytes = dataFor(2, 40, 300_000);
      async function* chunks(): AsyncIterable<Uint8Array> {
        for (let at = 0; at < bytes.byteLength; at += 70_000) yield bytes.slice(at, at + 70_000);
      }
      handler.onSnapshot = async () => ({ vote: leaderVote(3, 'n2') });
      const res = await client.fullSnapshot(leaderVote(2), { meta, data: chunks() }, { timeoutMs: 10_000 });
      expect(res).toEqual({ vote: leaderVote(3, 'n2') });
      expect(handler.snapshots.length).toBe(1);
      expect(handler.snapshots[0]!.meta).toEqual(meta);
      expect(handler.snapshots[0]!.vote).toEqual(leaderVote(2));
      expect(summarizeBytes(handler.snapshots[0]!.bytes)).toEqual(summarizeBytes(bytes));
    }),
    c('fullSnapshot: an empty snapshot arrives empty', async ({ client, handler }) => {
      async function* none(): AsyncIterable<Uint8Array> {}
      await client.fullSnapshot(leaderVote(2), { meta, data: none() });
      expect(handler.snapshots.map((s) => s.bytes.byteLength)).toEqual([0]);
    }),
    c('transferLeader round-trips when the client has it', async ({ client, handler }) => {
      const req = { from: leaderVote(3, 'n1'), to: 'n2', lastLogId: { term: 3, index: 17 } };
      if (client.transferLeader === undefined) return expect(handler.transfers).toEqual([]);
      await client.transferLeader(req);
      expect(handler.transfers).toEqual([req]);
    }),
    c('a handler error becomes a RemoteError carrying its code', async ({ client, handler }) => {
      handler.onVote = async () => {
        throw new NotLeaderError('I lost it');
      };
      const err = await expectRejectCode(
        client.vote({ vote: leaderVote(1), lastLogId: null }),
        ErrorCode.Remote,
        'vote',
      );
      expect((err as { remoteCode?: unknown }).remoteCode).toBe(ErrorCode.NotLeader);
    }),
    c('a plain handler error becomes a RemoteError', async ({ client, handler }) => {
      handler.onAppend = async () => {
        throw new TypeError('boom');
      };
      await expectRejectCode(
        client.appendEntries(appendRequest(1, -1, 1)),
        ErrorCode.Remote,
        'appendEntries',
      );
      // The connection survives a remote error.
      handler.onAppend = async () => ({ type: 'success' });
      expect(await client.appendEntries(appendRequest(1, 0, 1))).toEqual({ type: 'success' });
    }),
    c('a call to a stopped target fails with UnreachableError', async ({ client, fixture, handler }) => {
      await fixture.stopTarget();
      await expectRejectCode(
        client.vote({ vote: leaderVote(1), lastLogId: null }, { timeoutMs: 5_000 }),
        ErrorCode.Unreachable,
        'vote',
      );
      await expectRejectCode(
        client.appendEntries(appendRequest(1, -1, 2), { timeoutMs: 5_000 }),
        ErrorCode.Unreachable,
        'appendEntries',
      );
      expect(handler.votes.length + handler.appends.length).toBe(0);
    }),
    c('a handler that never answers makes the call time out', async ({ client, handler }) => {
      handler.onAppend = () => never();
      const t0 = Date.now();
      await expectRejectCode(
        client.appendEntries(appendRequest(1, -1, 1), { timeoutMs: 150 }),
        ErrorCode.RpcTimeout,
        'appendEntries',
      );
      expect(Date.now() - t0, 'timed out before timeoutMs').toBeGreaterThanOrEqual(100);
      expect(handler.appends.length).toBe(1);
    }),
    c('aborting a pending call rejects it', async ({ client, handler }) => {
      handler.onVote = () => never();
      const ac = new AbortController();
      const reason = new Error('caller gave up');
      const p = client.vote({ vote: leaderVote(1), lastLogId: null }, { signal: ac.signal });
      setTimeout(() => ac.abort(reason), 30);
      let err: unknown;
      try {
        await within(p, 5_000, 'the aborted call did not settle');
      } catch (e) {
        err = e;
      }
      expect(
        err === reason || hasErrorCode(err, ErrorCode.Network),
        'rejects with the reason or a NetworkError',
      ).toBe(true);
    }),
    c('a call with an already aborted signal is not delivered', async ({ client, handler }) => {
      const ac = new AbortController();
      ac.abort(new Error('too late'));
      let rejected = false;
      try {
        await within(
          client.appendEntries(appendRequest(1, -1, 1), { signal: ac.signal }),
          5_000,
          'aborted call',
        );
      } catch {
        rejected = true;
      }
      expect(rejected).toBe(true);
      expect(handler.appends.length).toBe(0);
    }),
  ];
}
