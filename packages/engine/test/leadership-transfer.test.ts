import { describe, expect, it } from 'vitest';
import type { Command, Engine } from '../src/index.ts';
import { lid, members, newEngine, preElectionStartup, winTerm2 } from './fixtures.ts';

// Thesis §3.10 (leadership transfer) with leases (thesis §6.4): the target campaigns at once, and
// voters that heard from the old leader must not hold its lease against the target, or the transfer
// only completes once the lease ran out. The old leader therefore stops serving lease reads first.

const leaderVote = { term: 2, nodeId: 'b', committed: true };
const m3 = members(['a', 'b', 'c']);

/** A follower of leader b (term 2) whose log is 0-0, 1-1, 2-2 and that heard from b at 500. */
function follower(id: string): Engine {
  const e = newEngine(
    id,
    {},
    {
      vote: leaderVote,
      purged: null,
      keyLogIds: [lid(0, 0), lid(1, 1), lid(2, 2)],
      committed: lid(0, 0),
      applied: lid(0, 0),
      snapshot: null,
      memberships: [{ logId: lid(0, 0), membership: m3 }],
    },
  );
  e.handleAppendEntries(
    { vote: leaderVote, prevLogId: lid(2, 2), entries: [], leaderCommit: lid(0, 0) },
    'hb',
    500,
  );
  e.takeCommands();
  return e;
}

/** Leader b of term 2 over a, b, c; its blank 2-2 is flushed and acked by a at 502. */
function leader(): Engine {
  const e = newEngine('b', {}, preElectionStartup(m3));
  winTerm2(e);
  e.onReplicationProgress(
    'a',
    { inflightId: 1, result: { type: 'matched', matching: lid(2, 2), sentAt: 502 } },
    510,
  );
  e.takeCommands();
  return e;
}

const votes = (cmds: Command[]) =>
  cmds.map((c) =>
    c.type === 'respond' && c.response.type === 'vote' ? c.response.response.voteGranted : c.type,
  );

describe('leadership transfer', () => {
  it('the leader tells every other voter, the target last, so their leases do not block the target', () => {
    const e = leader();
    e.onReplicationProgress(
      'c',
      { inflightId: 2, result: { type: 'matched', matching: lid(2, 2), sentAt: 515 } },
      516,
    );
    e.takeCommands();
    e.transferLeader('c', 520);
    const request = { from: leaderVote, to: 'c', lastLogId: lid(2, 2) };
    expect(e.takeCommands()).toEqual([
      { type: 'sendTransferLeader', target: 'a', request },
      { type: 'sendTransferLeader', target: 'c', request },
    ]);
  });

  it('asks a target that lags only once it has caught up with the log as it was at the request', () => {
    const e = leader();
    expect(e.replicationMetrics()?.c?.matching).toBeNull();
    e.transferLeader('c', 520);
    const request = { from: leaderVote, to: 'c', lastLogId: lid(2, 2) };
    expect(e.takeCommands()).toEqual([{ type: 'sendTransferLeader', target: 'a', request }]);
    e.onReplicationProgress(
      'c',
      { inflightId: 2, result: { type: 'matched', matching: lid(1, 1), sentAt: 515 } },
      525,
    );
    const next = e.takeCommands();
    expect(next.filter((c) => c.type === 'sendTransferLeader')).toEqual([]);
    const resend = next.find((c) => c.type === 'replicate' && c.target === 'c');
    if (resend?.type !== 'replicate') throw new Error('expected a replicate to c');
    e.onReplicationProgress(
      'c',
      { inflightId: resend.inflightId, result: { type: 'matched', matching: lid(2, 2), sentAt: 526 } },
      530,
    );
    expect(e.takeCommands().filter((c) => c.type === 'sendTransferLeader')).toEqual([
      { type: 'sendTransferLeader', target: 'c', request },
    ]);
    // Once asked, it is not asked again on later acks.
    e.heartbeat(540);
    e.onReplicationProgress(
      'c',
      { inflightId: null, result: { type: 'matched', matching: lid(2, 2), sentAt: 540 } },
      541,
    );
    expect(e.takeCommands().filter((c) => c.type === 'sendTransferLeader')).toEqual([]);
  });

  it('lease safety: the old leader stops serving lease reads as soon as it starts a transfer', () => {
    const e = leader();
    // b and c count from the election (501), a from its ack (502): the quorum has acked 501.
    expect(e.leaseValidUntil()).toBe(501 + 100 * 0.9);
    e.transferLeader('c', 520);
    expect(e.leaseValidUntil()).toBeNull();
    expect(e.serverState()).toBe('Leader');
  });

  it('a voter told of the transfer grants the target within the old leader lease', () => {
    const e = follower('a');
    const req = { vote: { term: 3, nodeId: 'c', committed: false }, lastLogId: lid(2, 2) };
    e.handleVoteRequest(req, 'before', 510);
    expect(votes(e.takeCommands())).toEqual([false]);
    e.handleTransferLeader({ from: leaderVote, to: 'c', lastLogId: lid(2, 2) }, 520);
    expect(e.takeCommands()).toEqual([]);
    expect(e.serverState()).toBe('Follower');
    e.handleVoteRequest(req, 'after', 530);
    expect(e.takeCommands()).toEqual([
      { type: 'saveVote', ioId: 1, vote: req.vote },
      {
        type: 'respond',
        when: { type: 'ioFlushed', ioId: 1 },
        reply: 'after',
        response: { type: 'vote', response: { vote: req.vote, voteGranted: true, lastLogId: lid(2, 2) } },
      },
    ]);
  });

  it('the waiver is for the named target only: another candidate still meets the lease', () => {
    const e = follower('a');
    e.handleTransferLeader({ from: leaderVote, to: 'c', lastLogId: lid(2, 2) }, 520);
    e.handleAppendEntries(
      { vote: leaderVote, prevLogId: lid(2, 2), entries: [], leaderCommit: lid(0, 0) },
      'hb2',
      540,
    );
    e.takeCommands();
    e.handleVoteRequest({ vote: { term: 3, nodeId: 'x', committed: false }, lastLogId: lid(2, 2) }, 'x', 550);
    expect(votes(e.takeCommands())).toEqual([false]);
  });

  it('a transfer notice from a leader that is not ours waives nothing', () => {
    const e = follower('a');
    e.handleTransferLeader(
      { from: { term: 1, nodeId: 'z', committed: true }, to: 'c', lastLogId: null },
      520,
    );
    e.handleVoteRequest({ vote: { term: 3, nodeId: 'c', committed: false }, lastLogId: lid(2, 2) }, 'r', 530);
    expect(votes(e.takeCommands())).toEqual([false]);
  });

  it('the target elects itself at once, skipping pre-vote', () => {
    const e = follower('c');
    e.handleTransferLeader({ from: leaderVote, to: 'c', lastLogId: lid(2, 2) }, 520);
    const vote = { term: 3, nodeId: 'c', committed: false };
    expect(e.takeCommands()).toEqual([
      { type: 'saveVote', ioId: 1, vote },
      { type: 'sendVote', target: 'a', request: { vote, lastLogId: lid(2, 2) } },
      { type: 'sendVote', target: 'b', request: { vote, lastLogId: lid(2, 2) } },
    ]);
  });
});
