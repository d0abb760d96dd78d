import type { Membership, Vote } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import type { Engine, EngineStartup } from '../src/index.ts';
import { lid, newEngine } from './fixtures.ts';

const ids = ['s1', 's2', 's3', 's4', 's5'];
const m: Membership = { configs: [ids], nodes: Object.fromEntries(ids.map((id) => [id, { addr: id }])) };
const mem = { logId: lid(0, 0), membership: m };

/** Log 1-1, 2-2 (1-1 committed and applied) under vote `vote`: S1's and S3's state in Figure 8 (c). */
const startup = (vote: Vote): EngineStartup => ({
  vote,
  purged: null,
  keyLogIds: [lid(0, 0), lid(1, 1), lid(2, 2)],
  committed: lid(1, 1),
  applied: lid(1, 1),
  snapshot: null,
  memberships: [mem],
});

/** S1 in Figure 8 (c): log 1-1, 2-2 (its old term-2 entry), elected leader of term 4. */
function s1() {
  const e = newEngine('s1', { maxPayloadEntries: 1 }, startup({ term: 3, nodeId: 's5', committed: false }));
  e.elect(100);
  e.onLocalIo({ type: 'flushed', ioId: 1 }, 100);
  const v: Vote = { term: 4, nodeId: 's1', committed: false };
  e.handleVoteResponse('s2', { vote: v, voteGranted: true, lastLogId: lid(2, 2) }, 101);
  e.handleVoteResponse('s3', { vote: v, voteGranted: true, lastLogId: lid(1, 1) }, 101);
  e.onLocalIo({ type: 'flushed', ioId: 3 }, 102); // the committed vote and the blank 4-3
  e.takeCommands();
  return e;
}

/** S2 and S3 acknowledge 2-2 at 103 (probes 1 and 2, sent at 102): S1 has it on a majority. */
function replicateOldEntry(e: Engine): void {
  e.onReplicationProgress(
    's2',
    { inflightId: 1, result: { type: 'matched', matching: lid(2, 2), sentAt: 102 } },
    103,
  );
  e.onReplicationProgress(
    's3',
    { inflightId: 2, result: { type: 'matched', matching: lid(2, 2), sentAt: 102 } },
    103,
  );
}

describe('Raft §5.4.2, Figure 8: a leader never commits an older term entry by counting replicas', () => {
  it('(c) S1 at term 4 replicates 2-2 to a majority but does not commit it', () => {
    const e = s1();
    replicateOldEntry(e);
    expect(e.committed()).toEqual(lid(1, 1));
    expect(e.takeCommands().filter((c) => c.type === 'saveCommittedAndApply')).toEqual([]);
  });

  it('(d) S5 (last log 3-2) can still win S3 over and overwrite 2-2, so committing it would have been unsafe', () => {
    const s3 = newEngine('s3', {}, startup({ term: 4, nodeId: 's1', committed: true }));
    s3.takeCommands();
    const v5: Vote = { term: 5, nodeId: 's5', committed: false };
    s3.handleVoteRequest({ vote: v5, lastLogId: lid(3, 2) }, 'r', 10_000);
    expect(s3.takeCommands().at(-1)).toEqual({
      type: 'respond',
      when: { type: 'ioFlushed', ioId: 1 },
      reply: 'r',
      response: { type: 'vote', response: { vote: v5, voteGranted: true, lastLogId: lid(2, 2) } },
    });
    s3.handleAppendEntries(
      {
        vote: { ...v5, committed: true },
        prevLogId: lid(1, 1),
        entries: [{ logId: lid(3, 2), payload: { type: 'blank' } }],
        leaderCommit: lid(1, 1),
      },
      'a',
      10_001,
    );
    expect(s3.takeCommands().slice(1, 3)).toEqual([
      { type: 'truncateLog', ioId: 3, since: lid(3, 2) },
      {
        type: 'appendEntries',
        ioId: 4,
        vote: { ...v5, committed: true },
        entries: [{ logId: lid(3, 2), payload: { type: 'blank' } }],
      },
    ]);
  });

  it('(e) once its own term-4 entry reaches a majority, 2-2 commits with it', () => {
    const e = s1();
    replicateOldEntry(e);
    // Converged targets switch to pipelines: s2 gets inflight 5, s3 inflight 6 (ids 3, 4 went to s4, s5).
    e.onReplicationProgress(
      's2',
      { inflightId: 5, result: { type: 'matched', matching: lid(4, 3), sentAt: 103 } },
      104,
    );
    expect(e.committed()).toEqual(lid(1, 1));
    e.takeCommands();
    e.onReplicationProgress(
      's3',
      { inflightId: 6, result: { type: 'matched', matching: lid(4, 3), sentAt: 103 } },
      104,
    );
    expect(e.takeCommands()).toEqual([
      { type: 'saveCommittedAndApply', prevCommitted: lid(1, 1), committed: lid(4, 3) },
    ]);
  });
});
