import type { EngineStartup } from '@flotilla/engine';
import {
  compareLogId,
  type Entry,
  type LogId,
  nextIndex,
  type RaftLogReader,
  type RaftLogStorage,
  type RaftStateMachine,
  StorageError,
  type StoredMembership,
} from '@flotilla/types';

/** Entries read per call while scanning the log for membership entries at startup. */
const SCAN_CHUNK = 1024;

/**
 * Refuses to start when the state machine applied an entry the log holds differently: the same index
 * with another term at the purge point or in the log. Applied entries were committed and committed
 * entries are never replaced, so such stores lost or mixed up data; going on would apply a different
 * entry at that index than the rest of the cluster.
 */
async function refuseConflict(reader: RaftLogReader, purged: LogId | null, applied: LogId): Promise<void> {
  let held: LogId | null = null;
  if (purged !== null && purged.index === applied.index) held = purged;
  else if (purged === null || applied.index > purged.index) {
    const [e] = await reader.tryGetLogEntries(applied.index, applied.index + 1);
    held = e?.logId ?? null;
  }
  if (held !== null && held.term !== applied.term) {
    throw new StorageError(
      'open',
      `the state machine applied ${applied.term}-${applied.index} but the log holds ${held.term}-${held.index} at that index`,
    );
  }
}

/**
 * Reads what the engine needs to start from storage and the state machine: the vote, purge point,
 * key log ids (the first log id of each term), committed id, applied id, snapshot meta and the last
 * two memberships of the log. Membership entries are looked for only after the state machine's last
 * applied entry (its applied membership covers the rest).
 */
export async function loadStartup<D, R>(
  store: RaftLogStorage,
  sm: RaftStateMachine<D, R>,
): Promise<EngineStartup> {
  try {
    const [vote, state, committed, applied, snapshot] = await Promise.all([
      store.readVote(),
      store.getLogState(),
      store.readCommitted ? store.readCommitted() : Promise.resolve(null),
      sm.appliedState(),
      sm.getCurrentSnapshot(),
    ]);
    let purged = state.lastPurgedLogId;
    let last = state.lastLogId;
    const reader = store.reader();
    const lastApplied = applied.lastApplied;
    if (lastApplied !== null) {
      if (lastApplied.index > (last?.index ?? -1)) {
        // The state machine is ahead of the whole log (a snapshot installed, its purge lost, or a state
        // machine that persists every apply): the log below it is history. Purge it, as openraft does,
        // so the next entry continues after what was applied and nothing applied is offered again.
        await store.purge(lastApplied);
        purged = lastApplied;
        last = lastApplied;
      } else {
        await refuseConflict(reader, purged, lastApplied);
      }
    }
    const keyLogIds: LogId[] = [];
    if (last !== null && compareLogId(last, purged) > 0) {
      const [first] = await reader.tryGetLogEntries(nextIndex(purged), nextIndex(purged) + 1);
      if (first === undefined) throw new StorageError('open', `first entry after the purge point is missing`);
      // getKeyLogIds gives the last log id of each term; the engine wants the first of each term.
      const lasts = await reader.getKeyLogIds(first.logId, last);
      keyLogIds.push(first.logId);
      for (let i = 0; i + 1 < lasts.length; i++) {
        const end = lasts[i] as LogId;
        const nextTerm = (lasts[i + 1] as LogId).term;
        keyLogIds.push({ term: nextTerm, index: end.index + 1 });
      }
      const lastKey = keyLogIds[keyLogIds.length - 1] as LogId;
      if (compareLogId(lastKey, last) < 0) keyLogIds.push(last);
    }
    // Memberships: the one the state machine applied (if still in the log), then any in the log after it.
    const memberships: StoredMembership[] = [];
    const appliedM = applied.lastMembership;
    if (appliedM.logId !== null && compareLogId(appliedM.logId, purged) > 0) memberships.push(appliedM);
    if (last !== null) {
      let at = Math.max(nextIndex(purged), nextIndex(lastApplied));
      while (at <= last.index) {
        const chunk: Entry[] = await reader.tryGetLogEntries(at, Math.min(last.index + 1, at + SCAN_CHUNK));
        if (chunk.length === 0) break;
        for (const e of chunk) {
          if (e.payload.type === 'membership')
            memberships.push({ logId: e.logId, membership: e.payload.membership });
        }
        at = (chunk[chunk.length - 1] as Entry).logId.index + 1;
      }
    }
    return {
      vote,
      purged,
      keyLogIds,
      committed,
      applied: lastApplied,
      snapshot: snapshot?.meta ?? null,
      memberships: memberships.slice(-2),
    };
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw new StorageError('open', `reading the initial state: ${String(err)}`, { cause: err });
  }
}
