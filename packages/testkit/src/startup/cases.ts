/**
 * The start-up conformance cases, after openraft's `get_initial_state_*` and `get_membership_*`
 * (`openraft/src/testing/log/suite.rs`): what a node computes from a log store and a state machine
 * filled beforehand — from empty stores, a purged log, a state machine ahead of or behind the log,
 * with or without a snapshot, and the membership read back from the log and the state machine (the
 * later one wins). Each case reads the node's `RaftMetrics` only; must never reach past the storage
 * and state-machine contracts.
 */
import { emptyStoredMembership, type RaftMetrics, type StoredMembership } from '@flotilla/types';
import { expect } from 'vitest';
import { assertUniqueNames, type ConformanceCase } from '../case.ts';
import {
  appendDurable,
  applyAll,
  blank,
  logId,
  membershipAt,
  STARTUP_NODE_ID,
  type StartedNode,
  type StartupHarness,
  type StartupStores,
  uniform,
  voteOf,
} from './harness.ts';

/** The start-up conformance cases for a harness. */
export function startupCases<D, R>(harness: StartupHarness<D, R>): ConformanceCase[] {
  type Stores = StartupStores<D, R>;
  /** Fills fresh stores with `fill`, starts the node on them and hands both to `check`. */
  const c = (
    name: string,
    fill: (s: Stores) => Promise<void>,
    check: (node: StartedNode, s: Stores) => Promise<void>,
  ): ConformanceCase => ({
    name,
    run: async () => {
      const stores = await harness.setup();
      try {
        await fill(stores);
        const node = await harness.start(stores, STARTUP_NODE_ID);
        try {
          await check(node, stores);
        } finally {
          await node.stop();
        }
      } finally {
        await harness.teardown?.(stores);
      }
    },
  });
  /** Fills fresh stores with `fill` and expects the node to refuse them with a `StorageError`. */
  const refused = (name: string, fill: (s: Stores) => Promise<void>): ConformanceCase => ({
    name,
    run: async () => {
      const stores = await harness.setup();
      try {
        await fill(stores);
        const started = harness.start(stores, STARTUP_NODE_ID);
        await expect(started, 'the node starts on contradicting stores').rejects.toMatchObject({
          code: 'STORAGE',
        });
        await started.then((n) => n.stop()).catch(() => {});
      } finally {
        await harness.teardown?.(stores);
      }
    },
  });
  const stored = (term: number, index: number, voters: readonly string[]): StoredMembership => ({
    logId: logId(term, index),
    membership: uniform(voters),
  });
  /** The storage-derived part of the metrics. */
  const picture = (m: RaftMetrics) => ({
    lastLogIndex: m.lastLogIndex,
    purged: m.purged,
    lastApplied: m.lastApplied,
    snapshot: m.snapshot,
    membership: m.membership,
  });

  return assertUniqueNames([
    c(
      'empty stores: no log, nothing applied, no membership, the initial vote',
      async () => {},
      async (node) => {
        const m = node.metrics();
        expect(picture(m)).toEqual({
          lastLogIndex: null,
          purged: null,
          lastApplied: null,
          snapshot: null,
          membership: emptyStoredMembership(),
        });
        expect(m.committed).toBeNull();
        expect(m.vote).toMatchObject({ term: 0, committed: false });
      },
    ),
    c(
      'the vote, the log and the applied entry are read back (get_initial_state_with_state)',
      async ({ logStore, stateMachine }) => {
        await logStore.saveVote(voteOf(1, STARTUP_NODE_ID));
        await appendDurable(logStore, [blank(0, 0), blank(1, 1), blank(3, 2)]);
        await applyAll(stateMachine, [blank(0, 0), blank(1, 1)]);
      },
      async (node) => {
        const m = node.metrics();
        expect(m.lastLogIndex).toBe(2);
        expect(m.lastApplied).toEqual(logId(1, 1));
        expect(m.vote).toEqual(voteOf(1, STARTUP_NODE_ID));
        expect(m.currentTerm).toBe(1);
        // what the state machine applied was committed
        expect(m.committed).toEqual(logId(1, 1));
      },
    ),
    c(
      'a log longer than the applied state is kept whole (get_initial_state_last_log_gt_sm)',
      async ({ logStore, stateMachine }) => {
        await appendDurable(logStore, [blank(0, 0), blank(1, 1), blank(2, 2), blank(2, 3)]);
        await applyAll(stateMachine, [blank(0, 0), blank(1, 1)]);
      },
      async (node) => {
        expect(picture(node.metrics())).toMatchObject({
          lastLogIndex: 3,
          purged: null,
          lastApplied: logId(1, 1),
        });
      },
    ),
    c(
      'a purged log: the purge point and the last log id are read back',
      async ({ logStore, stateMachine }) => {
        await appendDurable(logStore, [blank(1, 0), blank(1, 1), blank(1, 2), blank(2, 3), blank(2, 4)]);
        await applyAll(stateMachine, [blank(1, 0), blank(1, 1), blank(1, 2)]);
        await logStore.purge(logId(1, 2));
      },
      async (node) => {
        expect(picture(node.metrics())).toMatchObject({
          lastLogIndex: 4,
          purged: logId(1, 2),
          lastApplied: logId(1, 2),
        });
      },
    ),
    c(
      'a log purged to its end (after a snapshot install) continues after the purge point',
      async ({ logStore, stateMachine }) => {
        await applyAll(stateMachine, [blank(1, 0), blank(1, 1), membershipAt(1, 2, ['n1', 'n2', 'n3'])]);
        await stateMachine.snapshotBuilder().buildSnapshot();
        await logStore.purge(logId(1, 2));
      },
      async (node) => {
        expect(picture(node.metrics())).toEqual({
          lastLogIndex: 2,
          purged: logId(1, 2),
          lastApplied: logId(1, 2),
          snapshot: logId(1, 2),
          membership: stored(1, 2, ['n1', 'n2', 'n3']),
        });
      },
    ),
    c(
      'a snapshot behind the log: the log after it is kept, the snapshot reported',
      async ({ logStore, stateMachine }) => {
        const log = [blank(1, 0), blank(1, 1), blank(1, 2), blank(1, 3), blank(2, 4), blank(2, 5)];
        await appendDurable(logStore, log);
        await applyAll(stateMachine, log.slice(0, 4));
        await stateMachine.snapshotBuilder().buildSnapshot();
        await logStore.purge(logId(1, 2));
      },
      async (node) => {
        expect(picture(node.metrics())).toMatchObject({
          lastLogIndex: 5,
          purged: logId(1, 2),
          lastApplied: logId(1, 3),
          snapshot: logId(1, 3),
        });
      },
    ),
    c(
      'a snapshot ahead of the log (its purge was lost): the log is taken as purged up to it',
      async ({ logStore, stateMachine }) => {
        await appendDurable(logStore, [blank(1, 0), blank(1, 1), blank(1, 2)]);
        await applyAll(stateMachine, [blank(1, 0), blank(1, 1), blank(1, 2), blank(3, 3), blank(3, 4)]);
        await stateMachine.snapshotBuilder().buildSnapshot();
      },
      async (node) => {
        expect(picture(node.metrics())).toMatchObject({
          lastLogIndex: 4,
          purged: logId(3, 4),
          lastApplied: logId(3, 4),
          snapshot: logId(3, 4),
        });
      },
    ),
    c(
      'a state machine ahead of the log without a snapshot: the log is purged up to what it applied',
      async ({ logStore, stateMachine }) => {
        await appendDurable(logStore, [blank(1, 0), blank(1, 1), blank(1, 2)]);
        await applyAll(stateMachine, [blank(1, 0), blank(1, 1), blank(1, 2), blank(3, 3)]);
      },
      async (node, { logStore }) => {
        expect(picture(node.metrics())).toMatchObject({
          lastLogIndex: 3,
          purged: logId(3, 3),
          lastApplied: logId(3, 3),
        });
        // the store itself continues after the applied entry
        expect(await logStore.getLogState()).toEqual({
          lastPurgedLogId: logId(3, 3),
          lastLogId: logId(3, 3),
        });
      },
    ),
    c(
      'an empty log under a state machine that applied entries: the log continues after them',
      async ({ stateMachine }) => {
        await applyAll(stateMachine, [blank(1, 0), blank(1, 1), blank(1, 2)]);
      },
      async (node) => {
        expect(picture(node.metrics())).toMatchObject({
          lastLogIndex: 2,
          purged: logId(1, 2),
          lastApplied: logId(1, 2),
        });
      },
    ),
    refused(
      'a state machine that applied another term at an index the log holds is refused',
      async ({ logStore, stateMachine }) => {
        await appendDurable(logStore, [blank(1, 0), blank(1, 1), blank(1, 2)]);
        await applyAll(stateMachine, [blank(1, 0), blank(1, 1), blank(3, 2)]);
      },
    ),
    refused(
      'a state machine that applied another term at the purge point is refused',
      async ({ logStore, stateMachine }) => {
        await appendDurable(logStore, [blank(1, 0), blank(1, 1), blank(1, 2)]);
        await logStore.purge(logId(1, 1));
        await applyAll(stateMachine, [blank(1, 0), blank(3, 1)]);
      },
    ),
    c(
      'committed entries the state machine had not applied are re-applied at start-up (get_initial_state_re_apply_committed)',
      async ({ logStore, stateMachine }) => {
        const log = [blank(1, 0), blank(1, 1), blank(1, 2), blank(1, 3), blank(1, 4), blank(1, 5)];
        await appendDurable(logStore, log);
        await applyAll(stateMachine, log.slice(0, 3));
        await stateMachine.snapshotBuilder().buildSnapshot();
        await logStore.purge(logId(1, 1));
        await logStore.saveCommitted?.(logId(1, 4));
      },
      async (node, { logStore, stateMachine }) => {
        const saved = logStore.readCommitted === undefined ? null : await logStore.readCommitted();
        if (saved === null) {
          // A store that keeps no committed id: only what was applied counts as committed.
          expect(node.metrics().lastApplied).toEqual(logId(1, 2));
          return;
        }
        await node.until((m) => (m.lastApplied?.index ?? -1) >= 4, 'the committed entries to be re-applied');
        expect(node.metrics().lastApplied).toEqual(logId(1, 4));
        expect((await stateMachine.appliedState()).lastApplied).toEqual(logId(1, 4));
      },
    ),
    c(
      'membership: from the log when the state machine has none (get_membership_from_log_and_empty_sm)',
      async ({ logStore }) => {
        await appendDurable(logStore, [blank(1, 0), membershipAt(1, 1, ['n1', 'n2', 'n3'])]);
      },
      async (node) => {
        expect(node.metrics().membership).toEqual(stored(1, 1, ['n1', 'n2', 'n3']));
      },
    ),
    c(
      'membership: from the state machine when the log has none after it (get_membership_from_empty_log_and_sm)',
      async ({ logStore, stateMachine }) => {
        const log = [blank(1, 0), blank(1, 1), membershipAt(1, 2, ['n3', 'n4', 'n5'])];
        await appendDurable(logStore, log);
        await applyAll(stateMachine, log);
      },
      async (node) => {
        expect(node.metrics().membership).toEqual(stored(1, 2, ['n3', 'n4', 'n5']));
      },
    ),
    c(
      'membership: the state machine wins over an older one in the log (get_initial_state_membership_from_sm_inlog_is_smaller)',
      async ({ logStore, stateMachine }) => {
        const log = [
          blank(1, 0),
          membershipAt(1, 1, ['n1', 'n2', 'n3']),
          membershipAt(1, 2, ['n3', 'n4', 'n5']),
        ];
        await appendDurable(logStore, log);
        await applyAll(stateMachine, log);
        await stateMachine.snapshotBuilder().buildSnapshot();
        await logStore.purge(logId(1, 2));
      },
      async (node) => {
        expect(node.metrics().membership).toEqual(stored(1, 2, ['n3', 'n4', 'n5']));
      },
    ),
    c(
      'membership: a later one in the log wins over the state machine (get_initial_state_membership_from_log_insm_is_smaller)',
      async ({ logStore, stateMachine }) => {
        const log = [blank(1, 0), blank(1, 1), membershipAt(1, 2, ['n3', 'n4', 'n5'])];
        await appendDurable(logStore, [...log, membershipAt(1, 3, ['n1', 'n2', 'n3'])]);
        await applyAll(stateMachine, log);
        await stateMachine.snapshotBuilder().buildSnapshot();
        await logStore.purge(logId(1, 2));
      },
      async (node) => {
        expect(node.metrics().membership).toEqual(stored(1, 3, ['n1', 'n2', 'n3']));
      },
    ),
    c(
      'membership: the last of several in the log after the applied one wins (get_membership_from_log_gt_sm_last_applied_2)',
      async ({ logStore, stateMachine }) => {
        const applied = [blank(1, 0), blank(1, 1), membershipAt(1, 2, ['n3', 'n4', 'n5'])];
        await appendDurable(logStore, [
          ...applied,
          membershipAt(1, 3, ['n7', 'n8', 'n9']),
          blank(1, 4),
          membershipAt(1, 5, ['n10', 'n11']),
        ]);
        await applyAll(stateMachine, applied);
      },
      async (node) => {
        expect(node.metrics().membership).toEqual(stored(1, 5, ['n10', 'n11']));
      },
    ),
    c(
      'membership: a snapshot membership and none in the log after it (state machine restored from a snapshot)',
      async ({ logStore, stateMachine }) => {
        const log = [blank(1, 0), membershipAt(1, 1, ['n1', 'n2', 'n3']), blank(1, 2), blank(1, 3)];
        await appendDurable(logStore, log);
        await applyAll(stateMachine, log);
        await stateMachine.snapshotBuilder().buildSnapshot();
        await logStore.purge(logId(1, 3));
      },
      async (node) => {
        expect(picture(node.metrics())).toEqual({
          lastLogIndex: 3,
          purged: logId(1, 3),
          lastApplied: logId(1, 3),
          snapshot: logId(1, 3),
          membership: stored(1, 1, ['n1', 'n2', 'n3']),
        });
      },
    ),
  ]);
}
