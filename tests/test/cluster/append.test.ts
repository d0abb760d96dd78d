import { ErrorCode, type Vote } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

/** What must not change when a request is refused. */
function stateOf(c: TestCluster, id: string) {
  const m = c.raft(id).metrics.current;
  return {
    vote: m.vote,
    last: m.lastLogIndex,
    committed: m.committed,
    leader: m.currentLeader,
    state: m.state,
  };
}

async function followerOf(c: TestCluster): Promise<{ leader: string; f: string; vote: Vote }> {
  const leader = await c.leader();
  const f = ['a', 'b', 'c'].find((id) => id !== leader) as string;
  await c.raft(leader).clientWrite({ key: 'x', value: 1 });
  await c.applied(c.raft(leader).metrics.current.lastLogIndex ?? 0, [f]);
  return { leader, f, vote: c.raft(f).metrics.current.vote };
}

describe('append entries', () => {
  it('an AppendEntries with a stale vote is refused with the follower higher vote; nothing changes', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const { f, vote } = await followerOf(c);
    c.raft(f).runtimeConfig.tick(false); // no election may change the state during the check
    const before = stateOf(c, f);
    const stale: Vote = { term: vote.term - 1, nodeId: 'a', committed: true };
    const res = await c
      .raft(f)
      .appendEntries({ vote: stale, prevLogId: null, entries: [], leaderCommit: null });
    expect(res).toEqual({ type: 'higherVote', vote });
    expect(stateOf(c, f)).toEqual(before);
  });

  it('an AppendEntries whose prevLogId the follower lacks gets a conflict; its log is unchanged', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const { f, vote } = await followerOf(c);
    const before = stateOf(c, f);
    const res = await c.raft(f).appendEntries({
      vote,
      prevLogId: { term: vote.term, index: 1_000 },
      entries: [],
      leaderCommit: null,
    });
    expect(res).toEqual({ type: 'conflict' });
    expect(stateOf(c, f).last).toBe(before.last);
    expect(stateOf(c, f).committed).toEqual(before.committed);
  });

  it('fuzz: well-framed but invalid RPCs get typed InvalidRequest errors, never crash, never change state', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const { f, vote } = await followerOf(c);
    c.raft(f).runtimeConfig.tick(false);
    const r = c.raft(f);
    const before = stateOf(c, f);
    const lid = (term: number, index: number) => ({ term, index });
    const entry = (term: number, index: number) => ({ logId: lid(term, index), payload: { type: 'blank' } });
    const bad: unknown[] = [
      { vote, prevLogId: lid(-1, 0), entries: [], leaderCommit: null },
      { vote, prevLogId: lid(1, 1.5), entries: [], leaderCommit: null },
      {
        vote: { term: vote.term, nodeId: 7, committed: true },
        prevLogId: null,
        entries: [],
        leaderCommit: null,
      },
      {
        vote: { term: vote.term, nodeId: null, committed: true },
        prevLogId: null,
        entries: [],
        leaderCommit: null,
      },
      { vote, prevLogId: null, entries: [entry(1, 1), entry(1, 3)], leaderCommit: null },
      { vote, prevLogId: lid(1, 5), entries: [entry(1, 2)], leaderCommit: null },
      { vote, prevLogId: null, entries: [entry(vote.term + 5, 1)], leaderCommit: null },
      {
        vote,
        prevLogId: null,
        entries: [{ logId: lid(1, 1), payload: { type: 'nope' } }],
        leaderCommit: null,
      },
      { vote, prevLogId: null, entries: 'x', leaderCommit: null },
      { vote, prevLogId: null, entries: [], leaderCommit: lid(1, -3) },
      null,
      42,
    ];
    for (const req of bad) {
      const err = await r.appendEntries(req as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(req)).toMatchObject({ code: ErrorCode.InvalidRequest });
    }
    const badVotes: unknown[] = [
      { vote: { term: -1, nodeId: 'a', committed: false }, lastLogId: null },
      { vote: { term: 1, nodeId: 'a', committed: 'no' }, lastLogId: null },
      { vote: { term: 1e6, nodeId: 'a', committed: false }, lastLogId: lid(2, -1) },
      {},
    ];
    for (const req of badVotes) {
      const err = await r.vote(req as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(req)).toMatchObject({ code: ErrorCode.InvalidRequest });
    }
    const tl = await r
      .transferLeader({ from: vote, to: 5, lastLogId: null } as never)
      .catch((e: unknown) => e);
    expect(tl).toMatchObject({ code: ErrorCode.InvalidRequest });
    const snap = await r
      .installFullSnapshot(vote, { lastLogId: lid(1, -1) } as never, (async function* () {})())
      .catch((e: unknown) => e);
    expect(snap).toMatchObject({ code: ErrorCode.InvalidRequest });
    expect(stateOf(c, f)).toEqual(before);
    expect(r.metrics.current.error).toBeNull();
    // Still serving: a valid heartbeat from the leader succeeds.
    const ok = await r.appendEntries({ vote, prevLogId: null, entries: [], leaderCommit: null });
    expect(ok).toEqual({ type: 'success' });
  });
});
