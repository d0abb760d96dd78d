import type { SnapshotMeta } from '@flotilla/types';
import {
  type Entry,
  emptyStoredMembership,
  formatLogId,
  type LogId,
  type StoredMembership,
  type Vote,
} from '@flotilla/types';

/** A simulated state machine: a single register plus what Raft needs to rebuild it. */
export interface SmState {
  /** The last applied log id. */
  applied: LogId | null;
  /** The register's value (the last written one). */
  value: number | null;
  /** The last membership applied. */
  membership: StoredMembership;
}

/** A fresh state machine. */
export function emptySm(): SmState {
  return { applied: null, value: null, membership: emptyStoredMembership() };
}

/** A node's log-and-vote store (the durable copy or the readable in-memory copy). */
export interface LogStore {
  vote: Vote | null;
  purged: LogId | null;
  /** Consecutive entries after `purged`. */
  entries: Entry[];
  committed: LogId | null;
}

/** An empty store. */
export function emptyStore(): LogStore {
  return { vote: null, purged: null, entries: [], committed: null };
}

/** A deep-enough copy (entries are immutable once written). */
export function cloneStore(s: LogStore): LogStore {
  return { vote: s.vote, purged: s.purged, entries: [...s.entries], committed: s.committed };
}

/** The last log id of a store. */
export function lastOf(s: LogStore): LogId | null {
  return s.entries.length > 0 ? s.entries[s.entries.length - 1]!.logId : s.purged;
}

/** The entry at `index`, if held. */
export function entryAt(s: LogStore, index: number): Entry | undefined {
  const first = s.purged === null ? 0 : s.purged.index + 1;
  return s.entries[index - first];
}

/** Whether the store holds `logId` (or has purged past it: purged entries are committed). */
export function holds(s: LogStore, logId: LogId): boolean {
  if (s.purged !== null && logId.index <= s.purged.index) return true;
  const e = entryAt(s, logId.index);
  return e !== undefined && e.logId.term === logId.term;
}

/** A storage write as the sim applies it, in order, to the readable and then the durable copy. */
export type Write =
  | { type: 'vote'; vote: Vote }
  | { type: 'append'; entries: Entry[] }
  | { type: 'truncate'; since: LogId }
  | { type: 'purge'; upto: LogId };

/** Applies a write; throws a descriptive error on storage misuse (a hole, a bad truncate). */
export function applyWrite(s: LogStore, w: Write): void {
  switch (w.type) {
    case 'vote':
      s.vote = w.vote;
      return;
    case 'append': {
      for (const e of w.entries) {
        const expect = (lastOf(s)?.index ?? -1) + 1;
        if (e.logId.index !== expect)
          throw new Error(`storage misuse: append ${formatLogId(e.logId)} expected index ${expect}`);
        s.entries.push(e);
      }
      return;
    }
    case 'truncate': {
      const first = s.purged === null ? 0 : s.purged.index + 1;
      if (w.since.index < first)
        throw new Error(`storage misuse: truncate ${formatLogId(w.since)} into purged range`);
      s.entries = s.entries.slice(0, w.since.index - first);
      return;
    }
    case 'purge': {
      const first = s.purged === null ? 0 : s.purged.index + 1;
      if (w.upto.index < first - 1) return;
      s.entries = s.entries.slice(w.upto.index - first + 1);
      s.purged = w.upto;
      return;
    }
  }
}

/** A durable snapshot: its meta and the state machine it captured. */
export interface StoredSnapshot {
  meta: SnapshotMeta;
  sm: SmState;
}
