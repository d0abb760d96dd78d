import { describe, expect, it } from 'vitest';
import { ErrorCode } from './errors.ts';
import {
  validateAppendEntriesRequest,
  validateAppendEntriesResponse,
  validateEntry,
  validateInstallSnapshot,
  validateLogId,
  validateOptionalLogId,
  validateSnapshotMeta,
  validateSnapshotResponse,
  validateStreamAppendResult,
  validateTransferLeaderRequest,
  validateVote,
  validateVoteRequest,
  validateVoteResponse,
} from './validate.ts';

const leader = { term: 3, nodeId: 'a', committed: true };
const entry = (term: number, index: number) => ({ logId: { term, index }, payload: { type: 'blank' } });

function invalidAt(fn: () => unknown, path: string) {
  expect(fn).toThrow(expect.objectContaining({ code: ErrorCode.InvalidRequest, path }));
}

describe('validators', () => {
  it('accept well-formed messages unchanged', () => {
    const req = {
      vote: leader,
      prevLogId: { term: 2, index: 4 },
      entries: [entry(2, 5), entry(3, 6)],
      leaderCommit: null,
    };
    expect(validateAppendEntriesRequest(req)).toBe(req);
    const vr = { vote: { term: 3, nodeId: 'b', committed: false }, lastLogId: null, preVote: true };
    expect(validateVoteRequest(vr)).toBe(vr);
    expect(validateOptionalLogId(undefined)).toBe(null);
    expect(validateLogId({ term: 0, index: 0 })).toEqual({ term: 0, index: 0 });
    const tl = { from: leader, to: 'b', lastLogId: { term: 3, index: 9 } };
    expect(validateTransferLeaderRequest(tl)).toBe(tl);
    const data = { logId: { term: 1, index: 0 }, payload: { type: 'normal', data: new Uint8Array([1]) } };
    expect(validateEntry(data)).toBe(data);
    const mem = {
      logId: { term: 1, index: 0 },
      payload: { type: 'membership', membership: { configs: [['a']], nodes: { a: { addr: 'x' } } } },
    };
    expect(validateEntry(mem)).toBe(mem);
  });
  it('name the offending path', () => {
    invalidAt(() => validateLogId({ term: -1, index: 0 }), 'logId.term');
    invalidAt(() => validateLogId({ term: 1.5, index: 0 }), 'logId.term');
    invalidAt(() => validateLogId([1, 2]), 'logId');
    invalidAt(() => validateVote({ term: 1, nodeId: '', committed: false }), 'vote.nodeId');
    invalidAt(() => validateVote({ term: 1, nodeId: null, committed: true }), 'vote');
    invalidAt(() => validateVote({ term: 1, nodeId: 'a', committed: 'yes' }), 'vote.committed');
    invalidAt(
      () =>
        validateAppendEntriesRequest({
          vote: { ...leader, committed: false },
          prevLogId: null,
          entries: [],
          leaderCommit: null,
        }),
      'appendEntries.vote',
    );
    invalidAt(
      () =>
        validateAppendEntriesRequest({
          vote: leader,
          prevLogId: null,
          entries: [entry(1, 1)],
          leaderCommit: null,
        }),
      'appendEntries.entries[0].logId.index',
    );
    // A malformed entry after well-formed ones is named by its own path.
    for (const [bad, at] of [
      [{ logId: { term: 1, index: 1 }, payload: { type: 'normal', data: 'x' } }, 'payload.data'],
      [{ logId: { term: 1, index: -1 }, payload: { type: 'blank' } }, 'logId.index'],
      [{ logId: { term: 1, index: 1 }, payload: { type: 'odd' } }, 'payload.type'],
      [
        { logId: { term: 1, index: 1 }, payload: { type: 'normal', data: new Uint8Array(1), session: {} } },
        'payload.session',
      ],
    ] as const) {
      invalidAt(
        () =>
          validateAppendEntriesRequest({
            vote: leader,
            prevLogId: null,
            entries: [entry(1, 0), bad],
            leaderCommit: null,
          }),
        `appendEntries.entries[1].${at}`,
      );
    }
    invalidAt(
      () =>
        validateAppendEntriesRequest({
          vote: leader,
          prevLogId: null,
          entries: [entry(2, 0), entry(1, 1)],
          leaderCommit: null,
        }),
      'appendEntries.entries[1].logId.term',
    );
    invalidAt(
      () =>
        validateAppendEntriesRequest({
          vote: leader,
          prevLogId: null,
          entries: [entry(4, 0)],
          leaderCommit: null,
        }),
      'appendEntries.entries[0].logId.term',
    );
    invalidAt(
      () =>
        validateAppendEntriesRequest({
          vote: leader,
          prevLogId: { term: 5, index: 0 },
          entries: [],
          leaderCommit: null,
        }),
      'appendEntries.prevLogId',
    );
    invalidAt(
      () => validateAppendEntriesRequest({ vote: leader, prevLogId: null, entries: {}, leaderCommit: null }),
      'appendEntries.entries',
    );
    invalidAt(
      () => validateEntry({ logId: { term: 1, index: 0 }, payload: { type: 'evil' } }),
      'entry.payload.type',
    );
    invalidAt(
      () => validateEntry({ logId: { term: 1, index: 0 }, payload: { type: 'normal', data: 'str' } }),
      'entry.payload.data',
    );
    invalidAt(
      () =>
        validateEntry({
          logId: { term: 1, index: 0 },
          payload: { type: 'membership', membership: { configs: [['a']], nodes: {} } },
        }),
      'entry.payload.membership.nodes',
    );
    invalidAt(
      () => validateVoteRequest({ vote: { term: 1, nodeId: null, committed: false }, lastLogId: null }),
      'vote.vote.nodeId',
    );
    invalidAt(
      () =>
        validateVoteRequest({
          vote: { term: 1, nodeId: 'a', committed: false },
          lastLogId: { term: 2, index: 0 },
        }),
      'vote.lastLogId',
    );
    invalidAt(
      () =>
        validateVoteRequest({
          vote: { term: 1, nodeId: 'a', committed: false },
          lastLogId: null,
          preVote: 1,
        }),
      'vote.preVote',
    );
    invalidAt(
      () => validateTransferLeaderRequest({ from: leader, to: 7, lastLogId: null }),
      'transferLeader.to',
    );
    invalidAt(() => validateSnapshotMeta({ lastLogId: null, snapshotId: 3 }), 'meta.snapshotId');
    invalidAt(
      () => validateSnapshotMeta({ lastLogId: null, snapshotId: 's', lastMembership: null }),
      'meta.lastMembership',
    );
  });
  it('accepts snapshot metas with empty or real memberships', () => {
    const empty = {
      lastLogId: null,
      snapshotId: 's',
      lastMembership: { logId: null, membership: { configs: [], nodes: {} } },
    };
    expect(validateSnapshotMeta(empty)).toBe(empty);
    const real = {
      lastLogId: { term: 1, index: 3 },
      snapshotId: 's',
      lastMembership: {
        logId: { term: 1, index: 0 },
        membership: { configs: [['a']], nodes: { a: { addr: 'x' } } },
      },
    };
    expect(validateSnapshotMeta(real)).toBe(real);
  });
  it("checks a snapshot transfer's vote and meta together", () => {
    const meta = {
      lastLogId: { term: 1, index: 3 },
      snapshotId: 's',
      lastMembership: { logId: null, membership: { configs: [], nodes: {} } },
    };
    const leader = { term: 2, nodeId: 'a', committed: true };
    expect(validateInstallSnapshot(leader, meta)).toEqual({ vote: leader, meta });
    invalidAt(() => validateInstallSnapshot({ ...leader, committed: false }, meta), 'vote');
    invalidAt(() => validateInstallSnapshot({ ...leader, term: -1 }, meta), 'vote.term');
    invalidAt(() => validateInstallSnapshot(leader, { ...meta, snapshotId: 1 }), 'meta.snapshotId');
  });
  it('checks answers from a peer', () => {
    const vote = { term: 2, nodeId: 'a', committed: true };
    const granted = { vote, voteGranted: true, lastLogId: { term: 1, index: 4 } };
    expect(validateVoteResponse(granted)).toBe(granted);
    invalidAt(() => validateVoteResponse({ ...granted, voteGranted: 'yes' }), 'voteResponse.voteGranted');
    invalidAt(
      () => validateVoteResponse({ ...granted, lastLogId: { term: 1, index: -1 } }),
      'voteResponse.lastLogId.index',
    );
    for (const ok of [
      { type: 'success' },
      { type: 'conflict' },
      { type: 'partialSuccess', matching: null },
      { type: 'higherVote', vote },
    ])
      expect(validateAppendEntriesResponse(ok)).toBe(ok);
    invalidAt(() => validateAppendEntriesResponse({ type: 'maybe' }), 'appendEntriesResponse.type');
    invalidAt(
      () => validateAppendEntriesResponse({ type: 'partialSuccess', matching: { term: -1, index: 0 } }),
      'appendEntriesResponse.matching.term',
    );
    invalidAt(() => validateAppendEntriesResponse(null), 'appendEntriesResponse');
    for (const ok of [
      { type: 'matched', matching: { term: 1, index: 2 } },
      { type: 'conflict', logId: { term: 1, index: 2 } },
      { type: 'higherVote', vote },
    ])
      expect(validateStreamAppendResult(ok)).toBe(ok);
    invalidAt(
      () => validateStreamAppendResult({ type: 'conflict', logId: null }),
      'streamAppendResult.logId',
    );
    invalidAt(() => validateStreamAppendResult('matched'), 'streamAppendResult');
    expect(validateSnapshotResponse({ vote })).toEqual({ vote });
    invalidAt(
      () => validateSnapshotResponse({ vote: { ...vote, committed: 1 } }),
      'snapshotResponse.vote.committed',
    );
  });
});
