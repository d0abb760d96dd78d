import { describe, expect, it } from 'vitest';
import { lid, members, newEngine } from '../../test/fixtures.ts';

const m3 = members(['a', 'b', 'c']);
const start = (id: string, lastLog = lid(1, 1)) =>
  newEngine(
    id,
    {},
    {
      vote: { term: 1, nodeId: 'a', committed: true },
      purged: null,
      keyLogIds: [lid(0, 0), lastLog],
      committed: lid(0, 0),
      applied: lid(0, 0),
      snapshot: null,
      memberships: [{ logId: lid(0, 0), membership: m3 }],
    },
  );

describe('vote handler', () => {
  it('Raft §5.2: a candidate bumps its term, saves its vote and asks every other voter', () => {
    const e = start('b');
    e.takeCommands();
    e.elect(500);
    expect(e.takeCommands()).toEqual([
      { type: 'saveVote', ioId: 1, vote: { term: 2, nodeId: 'b', committed: false } },
      {
        type: 'sendVote',
        target: 'a',
        request: { vote: { term: 2, nodeId: 'b', committed: false }, lastLogId: lid(1, 1) },
      },
      {
        type: 'sendVote',
        target: 'c',
        request: { vote: { term: 2, nodeId: 'b', committed: false }, lastLogId: lid(1, 1) },
      },
    ]);
    expect(e.serverState()).toBe('Candidate');
  });

  it('grants a vote only once it is durable', () => {
    const e = start('c');
    e.takeCommands();
    const vote = { term: 2, nodeId: 'b', committed: false };
    e.handleVoteRequest({ vote, lastLogId: lid(1, 1) }, 'r1', 500);
    expect(e.takeCommands()).toEqual([
      { type: 'saveVote', ioId: 1, vote },
      {
        type: 'respond',
        when: { type: 'ioFlushed', ioId: 1 },
        reply: 'r1',
        response: { type: 'vote', response: { vote, voteGranted: true, lastLogId: lid(1, 1) } },
      },
    ]);
  });

  it('Raft §5.4.1: refuses a candidate whose log is behind, adopting its greater term (§5.1)', () => {
    const e = start('c', lid(1, 5));
    e.takeCommands();
    e.handleVoteRequest({ vote: { term: 2, nodeId: 'b', committed: false }, lastLogId: lid(1, 4) }, 'r', 500);
    const adopted = { term: 2, nodeId: null, committed: false };
    expect(e.takeCommands()).toEqual([
      { type: 'saveVote', ioId: 1, vote: adopted },
      {
        type: 'respond',
        when: null,
        reply: 'r',
        response: { type: 'vote', response: { vote: adopted, voteGranted: false, lastLogId: lid(1, 5) } },
      },
    ]);
  });

  it('a refused candidate does not reset the follower election timer; a granted one does', () => {
    const e = start('c', lid(1, 5));
    e.takeCommands();
    const deadline = e.electionDeadline();
    // Refused (its log is behind) at a greater term: the term is adopted, the timer keeps running, so
    // a stale candidate with a faster clock cannot keep this up-to-date node from campaigning.
    e.handleVoteRequest({ vote: { term: 2, nodeId: 'b', committed: false }, lastLogId: lid(1, 4) }, 'r', 500);
    expect(e.vote().term).toBe(2);
    expect(e.electionDeadline()).toBe(deadline);
    // Granted: the timer restarts from now.
    e.handleVoteRequest(
      { vote: { term: 3, nodeId: 'a', committed: false }, lastLogId: lid(1, 5) },
      'r2',
      900,
    );
    expect(e.vote()).toEqual({ term: 3, nodeId: 'a', committed: false });
    expect(e.electionDeadline()).toBeGreaterThan(900);
    expect(e.electionDeadline()).not.toBe(deadline);
  });

  it('a voter that an uncommitted config removes still campaigns (it may hold the newest log) and wins by a majority of that config', () => {
    // Log: joint {a,b,c | c,d,e} committed at 1, then the uniform {c,d,e} at 2, not committed. `a` has
    // the newest log; c and d (still on the joint config) could not win without a's or b's vote.
    const joint = {
      configs: [
        ['a', 'b', 'c'],
        ['c', 'd', 'e'],
      ],
      nodes: members(['a', 'b', 'c', 'd', 'e']).nodes,
    };
    const uniform = members(['c', 'd', 'e']);
    const e = newEngine(
      'a',
      {},
      {
        vote: { term: 1, nodeId: 'a', committed: true },
        purged: null,
        keyLogIds: [lid(1, 0), lid(1, 2)],
        committed: lid(1, 1),
        applied: lid(1, 1),
        snapshot: null,
        memberships: [
          { logId: lid(1, 1), membership: joint },
          { logId: lid(1, 2), membership: uniform },
        ],
      },
    );
    e.takeCommands();
    expect(e.serverState()).toBe('Learner');
    e.tick(e.electionDeadline());
    const asked = e
      .takeCommands()
      .flatMap((cmd) => (cmd.type === 'sendVote' ? [cmd.target] : []))
      .sort();
    // It asks the voters of its effective config, and needs a majority of them (it does not count).
    expect(asked).toEqual(['c', 'd', 'e']);
    expect(e.serverState()).toBe('Candidate');
    const vote = { term: 2, nodeId: 'a', committed: false };
    e.onLocalIo({ type: 'flushed', ioId: 1 }, 1000);
    e.handleVoteResponse('c', { vote, voteGranted: true, lastLogId: lid(1, 1) }, 1000);
    expect(e.serverState()).toBe('Candidate');
    e.handleVoteResponse('d', { vote, voteGranted: true, lastLogId: lid(1, 1) }, 1000);
    expect(e.serverState()).toBe('Leader');
  });

  it('refuses votes while the leader lease is live, grants after it expires', () => {
    const e = start('c');
    e.handleAppendEntries(
      {
        vote: { term: 1, nodeId: 'a', committed: true },
        prevLogId: lid(1, 1),
        entries: [],
        leaderCommit: lid(0, 0),
      },
      'hb',
      1000,
    );
    e.takeCommands();
    const req = { vote: { term: 2, nodeId: 'b', committed: false }, lastLogId: lid(1, 1) };
    e.handleVoteRequest(req, 'r1', 1050);
    expect(
      e
        .takeCommands()
        .map((c) => c.type === 'respond' && c.response.type === 'vote' && c.response.response.voteGranted),
    ).toEqual([false]);
    e.handleVoteRequest(req, 'r2', 1100);
    expect(e.takeCommands().map((c) => c.type)).toEqual(['saveVote', 'respond']);
  });

  it('a pre-vote neither saves nor changes the vote', () => {
    const e = start('c');
    e.takeCommands();
    e.handleVoteRequest(
      { vote: { term: 2, nodeId: 'b', committed: false }, lastLogId: lid(1, 1), preVote: true },
      'p',
      500,
    );
    expect(e.takeCommands()).toEqual([
      {
        type: 'respond',
        when: null,
        reply: 'p',
        response: {
          type: 'vote',
          response: {
            vote: { term: 1, nodeId: 'a', committed: true },
            voteGranted: true,
            lastLogId: lid(1, 1),
          },
        },
      },
    ]);
    expect(e.vote()).toEqual({ term: 1, nodeId: 'a', committed: true });
  });

  it('Raft §5.2: a candidate wins with a majority once its own vote is flushed, then appends a blank entry', () => {
    const e = start('b');
    e.takeCommands();
    e.elect(500);
    e.takeCommands();
    const vote = { term: 2, nodeId: 'b', committed: false };
    e.handleVoteResponse('a', { vote, voteGranted: true, lastLogId: lid(1, 1) }, 501);
    expect(e.takeCommands()).toEqual([]);
    expect(e.serverState()).toBe('Candidate');
    e.onLocalIo({ type: 'flushed', ioId: 1 }, 502);
    const leaderVote = { term: 2, nodeId: 'b', committed: true };
    expect(e.takeCommands()).toEqual([
      { type: 'saveVote', ioId: 2, vote: leaderVote },
      {
        type: 'rebuildReplicationStreams',
        vote: leaderVote,
        targets: [
          { id: 'a', node: { addr: 'a:1' } },
          { id: 'c', node: { addr: 'c:1' } },
        ],
        closeOldStreams: true,
      },
      {
        type: 'appendEntries',
        ioId: 3,
        vote: leaderVote,
        entries: [{ logId: lid(2, 2), payload: { type: 'blank' } }],
      },
      {
        type: 'replicate',
        target: 'a',
        inflightId: 1,
        payload: { type: 'logs', prev: null, last: lid(2, 2) },
      },
      {
        type: 'replicate',
        target: 'c',
        inflightId: 2,
        payload: { type: 'logs', prev: null, last: lid(2, 2) },
      },
    ]);
    expect(e.serverState()).toBe('Leader');
  });

  it('Raft §5.2 split vote: without a majority the candidate times out and retries at a higher term', () => {
    const e = start('b');
    e.takeCommands();
    e.elect(500);
    e.onLocalIo({ type: 'flushed', ioId: 1 }, 501);
    e.handleVoteResponse(
      'a',
      { vote: { term: 2, nodeId: 'c', committed: false }, voteGranted: false, lastLogId: lid(1, 1) },
      502,
    );
    e.takeCommands();
    expect(e.serverState()).toBe('Candidate');
    e.tick(e.electionDeadline());
    expect(e.takeCommands()[0]).toEqual({
      type: 'saveVote',
      ioId: 2,
      vote: { term: 3, nodeId: 'b', committed: false },
    });
  });
});
