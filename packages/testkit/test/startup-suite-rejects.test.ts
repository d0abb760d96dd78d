// The start-up suite can fail: run against nodes that compute their initial state wrongly (no
// runtime here: testkit depends on types only; tests/ runs the suite through Raft), it names the
// cases each mistake breaks.
import {
  type Entry,
  emptyStoredMembership,
  type RaftLogStorage,
  type RaftMetrics,
  type StoredMembership,
} from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { failedCases, runCases, type StartedNode, type StartupHarness, startupCases } from '../src/index.ts';
import { ReferenceLogStore } from './reference-log-store.ts';
import { ListMachine } from './reference-state-machine.ts';

function metricsOf(partial: Partial<RaftMetrics>): RaftMetrics {
  return {
    id: 'n0',
    state: 'Learner',
    currentTerm: 0,
    vote: { term: 0, nodeId: null, committed: false },
    lastLogIndex: null,
    committed: null,
    lastApplied: null,
    snapshot: null,
    purged: null,
    currentLeader: null,
    membership: emptyStoredMembership(),
    committedMembership: emptyStoredMembership(),
    replication: null,
    lastQuorumAcked: null,
    millisSinceQuorumAck: null,
    error: null,
    ...partial,
  };
}

function node(m: RaftMetrics): StartedNode {
  return { metrics: () => m, until: async () => m, stop: async () => {} };
}

/** The last membership entry of the log, as a node that never asks its state machine would find it. */
async function logMembership(store: RaftLogStorage): Promise<StoredMembership> {
  const { lastPurgedLogId, lastLogId } = await store.getLogState();
  const from = lastPurgedLogId === null ? 0 : lastPurgedLogId.index + 1;
  const entries: Entry[] = await store.reader().tryGetLogEntries(from, (lastLogId?.index ?? -1) + 1);
  let found = emptyStoredMembership();
  for (const e of entries)
    if (e.payload.type === 'membership') found = { logId: e.logId, membership: e.payload.membership };
  return found;
}

const harness = (start: StartupHarness<string, string>['start']): StartupHarness<string, string> => ({
  setup: async () => ({ logStore: new ReferenceLogStore(), stateMachine: new ListMachine() }),
  start,
});

describe('the start-up suite against broken nodes', () => {
  it('a node that reads nothing passes only the empty-store case', async () => {
    const cases = startupCases(harness(async () => node(metricsOf({}))));
    const failed = failedCases(await runCases(cases));
    expect(failed).toEqual(cases.map((c) => c.name).filter((n) => !n.startsWith('empty stores')));
  });

  it('a node that reads the log but never its state machine fails every case that needs it', async () => {
    const start: StartupHarness<string, string>['start'] = async ({ logStore }) => {
      const { lastPurgedLogId, lastLogId } = await logStore.getLogState();
      return node(
        metricsOf({
          vote: (await logStore.readVote()) ?? { term: 0, nodeId: null, committed: false },
          currentTerm: (await logStore.readVote())?.term ?? 0,
          lastLogIndex: lastLogId?.index ?? null,
          purged: lastPurgedLogId,
          membership: await logMembership(logStore),
        }),
      );
    };
    const failed = failedCases(await runCases(startupCases(harness(start))));
    expect(failed).toEqual(
      expect.arrayContaining([
        expect.stringContaining('get_initial_state_with_state'),
        expect.stringContaining('a snapshot ahead of the log'),
        expect.stringContaining('get_initial_state_membership_from_sm_inlog_is_smaller'),
        expect.stringContaining('a snapshot membership and none in the log after it'),
      ]),
    );
    expect(failed).not.toContain(
      'membership: from the log when the state machine has none (get_membership_from_log_and_empty_sm)',
    );
  });
});
