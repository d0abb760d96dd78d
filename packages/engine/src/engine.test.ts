import { hasErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { emptyStartup, lid, members, newEngine } from '../test/fixtures.ts';
import { Engine } from './engine.ts';

const m3 = members(['a', 'b', 'c']);
const mem = { logId: lid(0, 0), membership: m3 };

describe('Engine', () => {
  it('a single voter initializes, elects itself once its vote is durable and commits its blank entry', () => {
    const e = newEngine('a');
    expect(e.initialize(members(['a']), 0)).toEqual(lid(0, 0));
    expect(e.takeCommands().map((c) => c.type)).toEqual(['appendEntries', 'saveVote']);
    e.onLocalIo({ type: 'flushed', ioId: 2 }, 1);
    expect(e.serverState()).toBe('Leader');
    e.takeCommands();
    e.onLocalIo({ type: 'flushed', ioId: 4 }, 2);
    expect(e.takeCommands()).toEqual([
      { type: 'saveCommittedAndApply', prevCommitted: null, committed: lid(1, 1) },
    ]);
  });

  it('refuses to initialize twice or without being a voter', () => {
    const e = newEngine('a');
    expect(() => e.initialize(members(['b']), 0)).toThrowError(
      expect.objectContaining({ code: 'INITIALIZE', reason: 'NotInMembers' }),
    );
    e.initialize(members(['a', 'b']), 0);
    let err: unknown;
    try {
      e.initialize(members(['a', 'b']), 0);
    } catch (x) {
      err = x;
    }
    expect(hasErrorCode(err, 'INITIALIZE') && (err as unknown as { reason: string }).reason).toBe(
      'NotAllowed',
    );
  });

  it('startup: a log that does not hold the snapshot is replaced by it; committed is trusted only if the log holds it', () => {
    const e = newEngine(
      'c',
      {},
      {
        vote: { term: 3, nodeId: 'a', committed: true },
        purged: null,
        keyLogIds: [lid(0, 0), lid(1, 1), lid(1, 8)],
        committed: lid(2, 5),
        applied: lid(2, 6),
        snapshot: { lastLogId: lid(2, 6), lastMembership: mem, snapshotId: 's' },
        memberships: [mem],
      },
    );
    expect(e.takeCommands()).toEqual([
      { type: 'truncateLog', ioId: 1, since: lid(1, 7) },
      { type: 'purgeLog', ioId: 2, upto: lid(2, 6) },
    ]);
    expect([e.purged(), e.lastLogId(), e.committed()]).toEqual([lid(2, 6), lid(2, 6), lid(2, 6)]);
    e.checkInvariants();
  });

  it('panics on io progress for a write never issued, and on use before startup', () => {
    const e = newEngine('a');
    expect(() => e.onLocalIo({ type: 'flushed', ioId: 5 }, 0)).toThrowError(
      expect.objectContaining({ code: 'PANICKED' }),
    );
    const raw = new Engine({ id: 'x', random: () => 0 });
    expect(() => raw.tick(0)).toThrowError(expect.objectContaining({ code: 'PANICKED' }));
    raw.startup(emptyStartup(), 0);
    expect(() => raw.startup(emptyStartup(), 0)).toThrowError(expect.objectContaining({ code: 'PANICKED' }));
  });

  it('validates its config with typed errors', () => {
    expect(
      () =>
        new Engine({
          id: 'x',
          random: () => 0,
          config: { electionTimeoutMaxMs: 100, electionTimeoutMinMs: 200 },
        }),
    ).toThrowError(expect.objectContaining({ code: 'INVALID_CONFIG', field: 'electionTimeoutMaxMs' }));
    expect(() => new Engine({ id: 'x', random: () => 0, config: { maxPayloadEntries: 0 } })).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG', field: 'maxPayloadEntries' }),
    );
  });

  it('a learner never starts an election', () => {
    const e = newEngine(
      'd',
      {},
      {
        ...emptyStartup(),
        keyLogIds: [lid(0, 0)],
        memberships: [{ logId: lid(0, 0), membership: members(['a', 'b', 'c'], ['d']) }],
      },
    );
    e.takeCommands();
    e.tick(1_000_000);
    expect(e.takeCommands()).toEqual([]);
    expect(e.serverState()).toBe('Learner');
  });
});
