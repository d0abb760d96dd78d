import { describe, expect, it } from 'vitest';
import { lid, members, newEngine, preElectionStartup, winTerm2 } from '../../test/fixtures.ts';
import type { Command } from '../command.ts';

/** Leader b of term 2 over a..e; a and c acked the blank 2-2 (committed), d and e have probes in flight. */
function leader() {
  const m5 = members(['a', 'b', 'c', 'd', 'e']);
  const e = newEngine('b', { maxInSnapshotLogToKeep: 0 }, preElectionStartup(m5));
  const probes = winTerm2(e, ['a', 'c']).filter((c) => c.type === 'replicate') as Extract<
    Command,
    { type: 'replicate' }
  >[];
  const id = (t: string) => probes.find((p) => p.target === t)?.inflightId ?? -1;
  for (const t of ['a', 'c']) {
    e.onReplicationProgress(
      t,
      { inflightId: id(t), result: { type: 'matched', matching: lid(2, 2), sentAt: 503 } },
      503,
    );
  }
  e.onApplied(lid(2, 2));
  e.takeCommands();
  return { e, id };
}

describe('a purge pending behind unreachable targets', () => {
  it('a target whose send failed is re-sent only after the purge, so two failing targets cannot hold it back', () => {
    const { e, id } = leader();
    e.onSnapshotBuilt({ lastLogId: lid(2, 2), lastMembership: e.membership().committed, snapshotId: 's' });
    expect(e.takeCommands()).toEqual([]); // d's and e's probes read up to 2-2: the purge waits
    e.onReplicationProgress('d', { inflightId: id('d'), result: { type: 'failed' } }, 510);
    expect(e.takeCommands()).toEqual([]); // e still holds it back; d is not re-sent (it would pin it again)
    expect(e.replicationMetrics()?.d?.mode).toBe('idle');
    e.onReplicationProgress('e', { inflightId: id('e'), result: { type: 'failed' } }, 520);
    const cmds = e.takeCommands();
    expect(cmds[0]).toMatchObject({ type: 'purgeLog', upto: lid(2, 2) });
    expect(cmds.slice(1).map((c) => [c.type, (c as { target?: string }).target])).toEqual([
      ['replicateSnapshot', 'd'],
      ['replicateSnapshot', 'e'],
    ]);
  });

  it('without a pending purge a failed send is re-sent at once', () => {
    const { e, id } = leader();
    e.onReplicationProgress('d', { inflightId: id('d'), result: { type: 'failed' } }, 510);
    expect(e.takeCommands()).toMatchObject([{ type: 'replicate', target: 'd', payload: { type: 'logs' } }]);
  });
});
