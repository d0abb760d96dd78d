/**
 * Commit handler: the commit index and what is handed to the state machine (Raft §5.3, §5.4.2's
 * "apply only committed entries, in order"). Owns `committed`, `applying` and `applied`: this is the
 * one place that moves them. Who may commit what (the leader's quorum rule, the follower's bound by
 * what it accepted from its leader) is decided by the callers; what follows a commit (publishing it
 * to the streams, finishing a membership change, a snapshot) is sequenced by the engine.
 * Imports only `log.ts` (the committed membership follows `committed`).
 */
import { compareLogId, type LogId } from '@flotilla/types';
import type { EngineCore } from '../core.ts';
import { commitMembership, type LogSlice } from './log.ts';

/** The state the commit handler works on. */
export type CommitSlice = LogSlice & Pick<EngineCore, 'committed' | 'applying' | 'applied'>;

/**
 * Raises `committed` to `to` (never lowers it), commits the membership it covers and hands the newly
 * committed entries to the state machine (`saveCommittedAndApply`). Returns whether it advanced.
 */
export function advanceCommitted(state: CommitSlice, to: LogId): boolean {
  if (compareLogId(to, state.committed) <= 0) return false;
  state.committed = to;
  commitMembership(state);
  handToStateMachine(state);
  return true;
}

/**
 * Startup: `committed` as recovered (the store's, floored by what the snapshot and the state machine
 * hold) and `applied` as the state machine reported; hands any committed but unapplied entries over.
 */
export function restoreCommitted(state: CommitSlice, committed: LogId | null, applied: LogId | null): void {
  state.committed = committed;
  state.applied = applied;
  state.applying = applied;
  handToStateMachine(state);
}

/** A snapshot from the leader replaces the state: everything up to `last` is committed and applied. */
export function commitSnapshot(state: CommitSlice, last: LogId): void {
  state.committed = last;
  state.applying = last;
  state.applied = last;
}

/** The state machine applied every committed entry up to `logId`. */
export function onApplied(state: CommitSlice, logId: LogId): void {
  state.assert(
    compareLogId(logId, state.applying) <= 0,
    () => 'applied beyond what was handed to the state machine',
  );
  if (compareLogId(logId, state.applied) > 0) state.applied = logId;
}

function handToStateMachine(state: CommitSlice): void {
  const { committed, applying } = state;
  if (committed !== null && compareLogId(committed, applying) > 0) {
    state.emit({ type: 'saveCommittedAndApply', prevCommitted: applying, committed });
    state.applying = committed;
  }
}
