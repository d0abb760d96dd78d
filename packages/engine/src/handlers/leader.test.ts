import { hasErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { lid, newEngine, preElectionStartup, winTerm2 } from '../../test/fixtures.ts';
import type { Engine } from '../engine.ts';

const leaderVote = { term: 2, nodeId: 'b', committed: true };
const data = (s: string) => ({ type: 'normal' as const, data: new TextEncoder().encode(s) });

/** Leader b of term 2 over a, b, c; its blank 2-2 is flushed and the probes were sent (ids 1, 2). */
function leader(config = {}): Engine {
  const e = newEngine('b', config, preElectionStartup());
  winTerm2(e);
  return e;
}

describe('leader handler', () => {
  it('Raft §5.3: a majority ack of a current-term entry commits it and everything before', () => {
    const e = leader();
    e.onReplicationProgress(
      'a',
      { inflightId: 1, result: { type: 'matched', matching: lid(2, 2), sentAt: 502 } },
      510,
    );
    expect(e.takeCommands()).toEqual([
      { type: 'saveCommittedAndApply', prevCommitted: lid(0, 0), committed: lid(2, 2) },
      { type: 'replicate', target: 'a', inflightId: 3, payload: { type: 'logsSince', prev: lid(2, 2) } },
    ]);
  });

  it('Raft §5.4.2: never commits a previous-term entry by counting replicas', () => {
    const e = leader();
    e.onReplicationProgress(
      'a',
      { inflightId: 1, result: { type: 'matched', matching: lid(1, 1), sentAt: 502 } },
      510,
    );
    expect(e.committed()).toEqual(lid(0, 0));
    expect(e.takeCommands().filter((c) => c.type === 'saveCommittedAndApply')).toEqual([]);
  });

  it('assigns log ids to a batch and streams them through an open pipeline without new commands', () => {
    const e = leader();
    e.onReplicationProgress(
      'a',
      { inflightId: 1, result: { type: 'matched', matching: lid(2, 2), sentAt: 502 } },
      510,
    );
    e.takeCommands();
    expect(e.leaderAppend([data('x'), data('y')], 520)).toEqual([lid(2, 3), lid(2, 4)]);
    expect(e.takeCommands()).toEqual([
      {
        type: 'appendEntries',
        ioId: 4,
        vote: leaderVote,
        entries: [
          { logId: lid(2, 3), payload: data('x') },
          { logId: lid(2, 4), payload: data('y') },
        ],
      },
    ]);
  });

  it('ignores a reply with a stale inflight id', () => {
    const e = leader();
    e.onReplicationProgress(
      'c',
      { inflightId: 99, result: { type: 'matched', matching: lid(2, 2), sentAt: 502 } },
      510,
    );
    expect(e.takeCommands()).toEqual([]);
    expect(e.replicationMetrics()?.c).toEqual({ matching: null, mode: 'probing' });
  });

  it('refuses writes on a follower with ForwardToLeader, and a second membership change with InProgress', () => {
    const f = newEngine('c');
    expect(() => f.leaderAppend([data('x')], 0)).toThrowError(
      expect.objectContaining({ code: 'FORWARD_TO_LEADER' }),
    );
    const e = leader();
    e.changeMembership(['a', 'b'], {}, 510);
    let err: unknown;
    try {
      e.changeMembership(['a', 'b', 'c'], {}, 511);
    } catch (x) {
      err = x;
    }
    expect(hasErrorCode(err, 'CHANGE_MEMBERSHIP') && (err as unknown as { reason: string }).reason).toBe(
      'InProgress',
    );
  });

  it('sends heartbeats every interval and steps down without a quorum for an election timeout (check-quorum)', () => {
    const e = leader();
    e.tick(522);
    expect(e.takeCommands()).toEqual([
      {
        type: 'broadcastHeartbeat',
        vote: leaderVote,
        committed: lid(0, 0),
        sentAt: 522,
        targets: [
          { id: 'a', matching: null },
          { id: 'c', matching: null },
        ],
      },
    ]);
    e.tick(702);
    expect(e.serverState()).toBe('Follower');
    expect(e.takeCommands()).toEqual([
      { type: 'rebuildReplicationStreams', vote: null, targets: [], closeOldStreams: true },
    ]);
  });
});
