import { describe, expect, it } from 'vitest';
import { lid, newEngine, preElectionStartup, winTerm2 } from '../../test/fixtures.ts';
import type { Engine } from '../engine.ts';

const data = { type: 'normal' as const, data: new TextEncoder().encode('x') };

/** Leader b of term 2 over a, b, c; a acked the blank 2-2 (probe 1), so a's pipeline is inflight 3. */
function leader(config = {}): Engine {
  const e = newEngine('b', config, preElectionStartup());
  winTerm2(e);
  e.onReplicationProgress(
    'a',
    { inflightId: 1, result: { type: 'matched', matching: lid(2, 2), sentAt: 502 } },
    505,
  );
  e.takeCommands();
  return e;
}

const hbConflict = (e: Engine, at: number, prev = lid(2, 2)) =>
  e.onReplicationProgress(
    'a',
    { inflightId: null, result: { type: 'conflict', prevLogId: prev, sentAt: at } },
    at,
  );

describe('log reversion', () => {
  it('refused: a heartbeat conflict at the matching is recorded once, no error, and nothing more is sent to the target', () => {
    const e = leader();
    expect(e.replicationMetrics()?.a?.mode).toBe('pipeline');
    hbConflict(e, 510);
    expect(e.logReversions()).toEqual([
      { target: 'a', term: 2, matching: lid(2, 2), conflictIndex: 2, repaired: false, at: 510, seq: 1 },
    ]);
    expect(e.replicationMetrics()?.a).toEqual({
      matching: lid(2, 2),
      mode: 'idle',
      logReversion: {
        matching: lid(2, 2),
        conflictIndex: 2,
        repaired: false,
        error: {
          code: 'LOG_REVERSION',
          message: expect.stringContaining('log reversion refused: a lost entries'),
        },
      },
    });
    hbConflict(e, 520); // reported once
    expect(e.logReversions()).toHaveLength(1);
    e.onReplicationProgress(
      'c',
      { inflightId: 2, result: { type: 'matched', matching: lid(2, 2), sentAt: 525 } },
      525,
    );
    e.takeCommands();
    e.leaderAppend([data], 530);
    const cmds = e.takeCommands();
    expect(cmds.some((c) => c.type === 'appendEntries')).toBe(true);
    const sent = cmds.filter((c) => c.type === 'replicate' || c.type === 'replicateSnapshot');
    expect(sent.map((c) => (c as { target: string }).target)).not.toContain('a');
  });

  it('refused on the entries stream too: a conflict of an inflight below the matching does not throw', () => {
    const e = leader();
    expect(() =>
      e.onReplicationProgress(
        'a',
        { inflightId: 3, result: { type: 'conflict', prevLogId: lid(2, 2), sentAt: 510 } },
        510,
      ),
    ).not.toThrow();
    expect(e.logReversions()[0]?.repaired).toBe(false);
    expect(e.replicationMetrics()?.a?.mode).toBe('idle');
  });

  it('allowed: a heartbeat conflict resets the progress and restarts the search at once', () => {
    const e = leader({ allowLogReversion: true });
    hbConflict(e, 510);
    expect(e.logReversions()[0]).toMatchObject({ target: 'a', repaired: true, conflictIndex: 2 });
    expect(e.replicationMetrics()?.a).toEqual({
      matching: null,
      mode: 'probing',
      logReversion: { matching: lid(2, 2), conflictIndex: 2, repaired: true, error: null },
    });
    const probe = e.takeCommands().find((c) => c.type === 'replicate');
    expect(probe).toMatchObject({ target: 'a', payload: { type: 'logs' } });
    // A conflict of a heartbeat sent before the reset is stale.
    hbConflict(e, 505);
    expect(e.logReversions()).toHaveLength(1);
  });

  it('a heartbeat conflict above the matching (sent before a reset) is ignored', () => {
    const e = leader();
    hbConflict(e, 510, lid(2, 3));
    expect(e.logReversions()).toEqual([]);
    expect(e.replicationMetrics()?.a?.mode).toBe('pipeline');
  });

  it('allowNextRevert before a reversion: the next one is repaired once, the one after refused again', () => {
    const e = leader();
    e.allowNextRevert('a', true, 506);
    hbConflict(e, 510);
    expect(e.logReversions()[0]).toMatchObject({ target: 'a', repaired: true, seq: 1 });
    expect(e.takeCommands().find((c) => c.type === 'replicate')).toMatchObject({ target: 'a' });
    e.onReplicationProgress(
      'a',
      { inflightId: 4, result: { type: 'matched', matching: lid(2, 2), sentAt: 515 } },
      515,
    );
    hbConflict(e, 520);
    expect(e.logReversions()[0]).toMatchObject({ target: 'a', repaired: false, seq: 2 });
  });

  it('allowNextRevert after a refusal resumes the target and repairs it; allow=false withdraws it', () => {
    const e = leader();
    hbConflict(e, 510);
    e.takeCommands();
    expect(e.replicationMetrics()?.a?.mode).toBe('idle');
    e.allowNextRevert('a', true, 512);
    // resumed at once: something is sent to a again
    expect(e.takeCommands().some((c) => c.type === 'replicate' && c.target === 'a')).toBe(true);
    expect(e.logReversions()).toEqual([]);
    e.onReplicationProgress(
      'a',
      { inflightId: 4, result: { type: 'conflict', prevLogId: lid(2, 2), sentAt: 513 } },
      514,
    );
    expect(e.logReversions()[0]).toMatchObject({ repaired: true, seq: 2 });
    expect(e.replicationMetrics()?.a?.mode).toBe('probing');

    const f = leader();
    f.allowNextRevert('a', true, 506);
    f.allowNextRevert('a', false, 507);
    hbConflict(f, 510);
    expect(f.logReversions()[0]).toMatchObject({ repaired: false });
  });

  it('allowNextRevert refuses an unknown target and a non-leader with typed errors', () => {
    const e = leader();
    expect(() => e.allowNextRevert('zz', true, 506)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
    const follower = newEngine('a', {}, preElectionStartup());
    expect(() => follower.allowNextRevert('b', true, 506)).toThrow(
      expect.objectContaining({ code: 'FORWARD_TO_LEADER' }),
    );
  });
});
