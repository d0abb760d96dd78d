import type { AppendEntriesResponse, Entry } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { lid, members, newEngine } from '../../test/fixtures.ts';
import type { Command } from '../command.ts';

const m3 = members(['a', 'b', 'c']);
const leader2 = { term: 2, nodeId: 'a', committed: true };
const blank = (t: number, i: number): Entry => ({ logId: lid(t, i), payload: { type: 'blank' } });
/** Follower c: log 0-0, 1-1, 1-2, 1-3 (1-2 and 1-3 uncommitted), voted for leader a of term 2. */
const follower = () => {
  const e = newEngine(
    'c',
    {},
    {
      vote: leader2,
      purged: null,
      keyLogIds: [lid(0, 0), lid(1, 1), lid(1, 3)],
      committed: lid(1, 1),
      applied: lid(1, 1),
      snapshot: null,
      memberships: [{ logId: lid(0, 0), membership: m3 }],
    },
  );
  e.takeCommands();
  return e;
};

/** The command answering request `'r'` with `response`: at once, or once io `flushed` is flushed. */
const answer = (response: AppendEntriesResponse, flushed: number | null = null): Command => ({
  type: 'respond',
  when: flushed === null ? null : { type: 'ioFlushed', ioId: flushed },
  reply: 'r',
  response: { type: 'appendEntries', response },
});

describe('following handler', () => {
  it('Raft §5.3: truncates at the first conflicting entry, appends the rest, answers after the flush', () => {
    const e = follower();
    e.handleAppendEntries(
      {
        vote: leader2,
        prevLogId: lid(1, 1),
        entries: [blank(1, 2), blank(2, 3), blank(2, 4)],
        leaderCommit: lid(2, 4),
      },
      'r',
      10,
    );
    expect(e.takeCommands()).toEqual([
      { type: 'truncateLog', ioId: 1, since: lid(2, 3) },
      { type: 'appendEntries', ioId: 2, vote: leader2, entries: [blank(2, 3), blank(2, 4)] },
      { type: 'saveCommittedAndApply', prevCommitted: lid(1, 1), committed: lid(2, 4) },
      answer({ type: 'success' }, 2),
    ]);
    expect(e.lastLogId()).toEqual(lid(2, 4));
  });

  it('Raft §5.3: rejects a request whose prevLogId it does not hold', () => {
    const e = follower();
    e.handleAppendEntries(
      { vote: leader2, prevLogId: lid(2, 3), entries: [blank(2, 4)], leaderCommit: lid(1, 1) },
      'r',
      10,
    );
    expect(e.takeCommands()).toEqual([answer({ type: 'conflict' })]);
  });

  it('commits no further than what it accepted from this leader', () => {
    const e = follower();
    // prevLogId 1-1 matches, but 1-2/1-3 were not confirmed by this leader: commit stops at 1-1.
    e.handleAppendEntries(
      { vote: leader2, prevLogId: lid(1, 1), entries: [], leaderCommit: lid(2, 9) },
      'r',
      10,
    );
    expect(e.takeCommands()).toEqual([answer({ type: 'success' })]);
    expect(e.committed()).toEqual(lid(1, 1));
  });

  it('rejects a stale leader with its greater vote', () => {
    const e = follower();
    const old = { term: 1, nodeId: 'b', committed: true };
    e.handleAppendEntries({ vote: old, prevLogId: lid(1, 1), entries: [], leaderCommit: null }, 'r', 10);
    expect(e.takeCommands()).toEqual([answer({ type: 'higherVote', vote: leader2 })]);
  });

  it('adopts a newer leader: saves its vote first, skips entries it already has', () => {
    const e = follower();
    const leader3 = { term: 3, nodeId: 'b', committed: true };
    e.handleAppendEntries(
      {
        vote: leader3,
        prevLogId: lid(0, 0),
        entries: [blank(1, 1), blank(1, 2), blank(1, 3), blank(3, 4)],
        leaderCommit: lid(1, 1),
      },
      'r',
      10,
    );
    expect(e.takeCommands()).toEqual([
      { type: 'saveVote', ioId: 1, vote: leader3 },
      { type: 'appendEntries', ioId: 2, vote: leader3, entries: [blank(3, 4)] },
      answer({ type: 'success' }, 2),
    ]);
    expect(e.currentLeader()).toBe('b');
  });
});
