import { hasErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { lid, members, newEngine } from './fixtures.ts';

describe('Engine.ioMark: what each storage write leads to, for the runtime’s watches', () => {
  it('gives the vote and last log id of every write from when it is taken until superseded', () => {
    const e = newEngine('a');
    e.initialize(members(['a']), 0);
    const writes = e
      .takeCommands()
      .flatMap((c) => (c.type === 'appendEntries' || c.type === 'saveVote' ? [c] : []));
    expect(writes.map((c) => c.type)).toEqual(['appendEntries', 'saveVote']);
    const append = writes[0]!;
    const vote = writes[1]!;
    expect(e.ioMark(append.ioId)).toEqual({
      ioId: append.ioId,
      vote: { term: 0, nodeId: null, committed: false },
      lastLogId: lid(0, 0),
    });
    expect(e.ioMark(vote.ioId)).toEqual({
      ioId: vote.ioId,
      vote: { term: 1, nodeId: 'a', committed: false },
      lastLogId: lid(0, 0),
    });
    expect(e.ioProgress().accepted).toEqual(e.ioMark(vote.ioId));
    e.onLocalIo({ type: 'flushed', ioId: vote.ioId }, 1);
    expect(e.ioProgress().flushed).toEqual(e.ioMark(vote.ioId));
    // Superseded by a later flush: gone, and asking is a bug.
    const gone = (() => {
      try {
        e.ioMark(append.ioId);
        return null;
      } catch (err) {
        return err;
      }
    })();
    expect(hasErrorCode(gone) && gone.code).toBe('PANICKED');
  });
});
