import { describe, expect, it } from 'vitest';
import type { Command } from '../src/index.ts';
import { Engine } from '../src/index.ts';
import { lid, members } from './fixtures.ts';

// Thesis §6.4: a leader serves lease reads while a quorum acknowledged it within the lease, relying
// on those voters refusing other candidates until the lease ran out. A voter that restarts has
// forgotten when it last heard from its leader: it must count the restart as that contact, or a quorum
// of restarted (and partitioned) voters elects a new leader while the old one still reads locally.

const votes = (cmds: Command[]) =>
  cmds.map((c) =>
    c.type === 'respond' && c.response.type === 'vote' ? c.response.response.voteGranted : c.type,
  );

function restarted(vote: { term: number; nodeId: string; committed: boolean }, now: number): Engine {
  const e = new Engine({
    id: 'a',
    config: { electionTimeoutMinMs: 100, electionTimeoutMaxMs: 200, heartbeatIntervalMs: 20, leaseMs: 100 },
    random: () => 0.5,
  });
  e.startup(
    {
      vote,
      purged: null,
      keyLogIds: [lid(0, 0), lid(2, 2)],
      committed: lid(0, 0),
      applied: lid(0, 0),
      snapshot: null,
      memberships: [{ logId: lid(0, 0), membership: members(['a', 'b', 'c']) }],
    },
    now,
  );
  e.takeCommands();
  return e;
}

describe('leases across a restart', () => {
  it('a restarted follower of a leader refuses other candidates for a lease after its restart', () => {
    const e = restarted({ term: 2, nodeId: 'b', committed: true }, 1000);
    const req = { vote: { term: 3, nodeId: 'c', committed: false }, lastLogId: lid(2, 2) };
    e.handleVoteRequest({ ...req, preVote: true }, 'p', 1050);
    e.handleVoteRequest(req, 'r', 1099);
    expect(votes(e.takeCommands())).toEqual([false, false]);
    e.handleVoteRequest(req, 'r2', 1100);
    expect(votes(e.takeCommands())).toEqual(['saveVote', true]);
  });

  it('a node that had only voted (no leader known) grants at once', () => {
    const e = restarted({ term: 2, nodeId: 'b', committed: false }, 1000);
    e.handleVoteRequest(
      { vote: { term: 3, nodeId: 'c', committed: false }, lastLogId: lid(2, 2) },
      'r',
      1001,
    );
    expect(votes(e.takeCommands())).toEqual(['saveVote', true]);
  });
});
