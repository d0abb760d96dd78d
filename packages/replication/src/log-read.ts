/**
 * Checked reads of the leader's log for a replication stream.
 *
 * Owns: what a read must return (consecutive indexes from `start`, terms never going down, the
 * whole range when asked) and `ReadFailure`, which keeps storage faults apart from transport faults.
 * Must never: retry a failed read (a storage fault is fatal unless the leader changed meanwhile) or
 * hand back entries it did not check.
 */
import {
  type Entry,
  hasErrorCode,
  type LogId,
  NetworkError,
  type RaftLogReader,
  StorageError,
} from '@flotilla/types';

/** A storage failure, kept apart from transport failures so it is never retried. */
export class ReadFailure extends Error {
  readonly error: Error;
  constructor(error: Error) {
    super(error.message);
    this.error = error;
  }
}

/** A reader's failure as a `StorageError` (op `read`). */
export function storageReadError(e: unknown): Error {
  if (hasErrorCode(e, 'STORAGE')) return e;
  return new StorageError('read', e instanceof Error ? e.message : String(e), { cause: e });
}

/** Anything thrown, as an `Error` (a non-error is a `NetworkError`). */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new NetworkError(String(e), { cause: e });
}

/**
 * Reads `[start, end)` after `prev` (all of it when `exact`, else a non-empty prefix) and checks
 * what came back; throws `ReadFailure`.
 */
export async function readEntries(
  reader: RaftLogReader,
  start: number,
  end: number,
  prev: LogId | null,
  exact: boolean,
): Promise<Entry[]> {
  let entries: Entry[];
  try {
    entries = exact
      ? await reader.tryGetLogEntries(start, end)
      : await reader.limitedGetLogEntries(start, end);
  } catch (e) {
    throw new ReadFailure(storageReadError(e));
  }
  const bad = (why: string) =>
    new ReadFailure(new StorageError('read', `log entries [${start}, ${end}) ${why}`));
  if (entries.length === 0 || entries.length > end - start) throw bad(`returned ${entries.length} entries`);
  if (exact && entries.length !== end - start) throw bad(`missing (got ${entries.length})`);
  let prevTerm = prev?.term ?? 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Entry;
    if (e.logId.index !== start + i) throw bad(`has index ${e.logId.index} at position ${i}`);
    if (e.logId.term < prevTerm) throw bad(`has a term going down at index ${e.logId.index}`);
    prevTerm = e.logId.term;
  }
  return entries;
}
