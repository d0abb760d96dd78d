import { describe, expect, it } from 'vitest';
import type { Engine, EngineConfig } from '../src/index.ts';
import { lid, members, newEngine, preElectionStartup, winTerm2 } from './fixtures.ts';

// Raft §6 / thesis §4.2.1: a node should catch up as a non-voting member before it becomes a voter,
// or the new configuration cannot commit anything until it has (an availability gap).

/** Leader b of term 2 over voters a, b, c and learner d; its blank 2-2 is flushed. */
function leader(config: Partial<EngineConfig> = {}): Engine {
  const e = newEngine('b', config, preElectionStartup(members(['a', 'b', 'c'], ['d'])));
  winTerm2(e);
  return e;
}

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string; reason?: string }).code === 'CHANGE_MEMBERSHIP'
      ? (err as { reason: string }).reason
      : `not a ChangeMembershipError: ${String(err)}`;
  }
  return undefined;
};

describe('changeMembership checks', () => {
  it('refuses a new voter that is neither a learner nor given in addNodes (LearnerNotFound)', () => {
    const e = leader();
    expect(reasonOf(() => e.changeMembership(['a', 'b', 'x'], {}, 510))).toBe('LearnerNotFound');
    expect(e.takeCommands()).toEqual([]);
    expect(e.membershipChangeInProgress()).toBe(false);
  });

  it('with maxPromotionLag, refuses a learner that has not caught up (NotCaughtUp), then accepts it', () => {
    const e = leader({ maxPromotionLag: 0 });
    expect(reasonOf(() => e.changeMembership(['a', 'b', 'c', 'd'], {}, 510))).toBe('NotCaughtUp');
    expect(e.takeCommands()).toEqual([]);
    // Nodes given in addNodes have replicated nothing either.
    expect(
      reasonOf(() => e.changeMembership(['a', 'b', 'c', 'x'], { addNodes: { x: { addr: 'x:1' } } }, 510)),
    ).toBe('NotCaughtUp');
    const probe = e.replicationMetrics()?.d;
    expect(probe).toEqual({ matching: null, mode: 'probing' });
    e.onReplicationProgress(
      'd',
      { inflightId: 3, result: { type: 'matched', matching: lid(2, 2), sentAt: 505 } },
      511,
    );
    e.takeCommands();
    expect(e.changeMembership(['a', 'b', 'c', 'd'], {}, 512)).toEqual(lid(2, 3));
  });

  it('with maxPromotionLag, existing voters and removals are not checked', () => {
    const e = leader({ maxPromotionLag: 0 });
    expect(e.changeMembership(['a', 'b'], {}, 510)).toEqual(lid(2, 3));
  });

  it('validates maxPromotionLag', () => {
    expect(() => newEngine('a', { maxPromotionLag: -1 })).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG', field: 'maxPromotionLag' }),
    );
  });
});
