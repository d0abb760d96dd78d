/**
 * The durable state machine of flotilla-kv: `@flotilla/storage-file`'s `fileStateMachine` over
 * {@link KvState}, plus the encoding of that state inside its snapshots. Owns the state's byte
 * layout only; applied log id, membership, snapshot files and receiving snapshots are
 * `fileStateMachine`'s, and the rules of a write are `KvState`'s. Must never touch the log store.
 */
import { type FileIO, type FileStateMachine, fileStateMachine } from '@flotilla/storage-file';
import { StorageError } from '@flotilla/types';
import {
  DEFAULT_MAX_SESSIONS,
  isPlainObject,
  type KvRequest,
  type KvResponse,
  type KvSessionRow,
  KvState,
} from './kv-state.ts';

/**
 * Format version of the kv state inside a snapshot. 3: the state (entries and client sessions)
 * inside `fileStateMachine`'s snapshot envelope; versions 1 and 2 were whole snapshots of the
 * hand-written state machine before it and are not read.
 */
export const KV_SNAPSHOT_VERSION = 3;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes the store's entries and client sessions as the state of a snapshot:
 * `{"version":3,"entries":[[k,v],…],"sessions":[[client_id,sequence,response],…]}` in UTF-8 JSON.
 */
export function encodeKvSnapshot(
  entries: readonly (readonly [string, string])[],
  sessions: readonly KvSessionRow[] = [],
): Uint8Array {
  return enc.encode(JSON.stringify({ version: KV_SNAPSHOT_VERSION, entries, sessions }));
}

/**
 * Decodes a state written by {@link encodeKvSnapshot}. Throws `StorageError` (op `snapshot`) when
 * the bytes are not such a state, so a damaged transfer never replaces the store.
 */
export function decodeKvSnapshot(bytes: Uint8Array): {
  entries: [string, string][];
  sessions: KvSessionRow[];
} {
  let doc: unknown;
  try {
    doc = JSON.parse(dec.decode(bytes));
  } catch (err) {
    throw new StorageError('snapshot', 'snapshot state is not UTF-8 JSON', { cause: err });
  }
  if (!isPlainObject(doc) || doc.version !== KV_SNAPSHOT_VERSION || !Array.isArray(doc.entries)) {
    throw new StorageError('snapshot', `snapshot state is not a version ${KV_SNAPSHOT_VERSION} kv state`);
  }
  for (const e of doc.entries) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') {
      throw new StorageError('snapshot', 'snapshot entry is not a [key, value] pair of strings');
    }
  }
  const sessions = doc.sessions;
  if (!Array.isArray(sessions)) throw new StorageError('snapshot', 'snapshot sessions are not a list');
  for (const r of sessions) {
    if (
      !Array.isArray(r) ||
      r.length !== 3 ||
      typeof r[0] !== 'string' ||
      !Number.isSafeInteger(r[1]) ||
      !isPlainObject(r[2])
    ) {
      throw new StorageError('snapshot', 'snapshot session is not a [client_id, sequence, response] row');
    }
  }
  return { entries: doc.entries as [string, string][], sessions: sessions as KvSessionRow[] };
}

/** Options of {@link openKvStateMachine}. */
export interface KvStateMachineOptions {
  /** Snapshots kept on disk (the newest). Default 2. */
  keepSnapshots?: number;
  /** File-system access of the snapshot store. Default: the real file system. */
  io?: FileIO;
  /** See `KvStateOptions.maxSessions`. Default {@link DEFAULT_MAX_SESSIONS}. */
  maxSessions?: number;
}

/** The replicated key-value state machine of flotilla-kv; its `state` is the {@link KvState}. */
export type KvStateMachine = FileStateMachine<KvState, KvRequest, KvResponse>;

/**
 * Opens the state machine whose snapshots live in `dir` (created if missing) and restores the
 * newest snapshot, if any. The data lives in memory; snapshots are written durably by
 * `fileStateMachine`; entries after the snapshot are re-applied by the runtime from the log after
 * a restart. Throws `StorageError` when that snapshot is damaged.
 *
 * Client sessions live in the {@link KvState} (carried in the write's data, with kv's
 * `SessionExpired` / `StaleSequence` rules), not in `fileStateMachine`'s own session table,
 * which stays empty because kv writes carry no entry-level session.
 */
export function openKvStateMachine(dir: string, opts: KvStateMachineOptions = {}): Promise<KvStateMachine> {
  const maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
  return fileStateMachine<KvState, KvRequest, KvResponse>({
    dir,
    initial: new KvState([], { maxSessions }),
    apply: (state, req) => [state, state.apply(req)],
    encode: (state) => encodeKvSnapshot(state.entries(), state.sessions()),
    decode: (bytes) => {
      const { entries, sessions } = decodeKvSnapshot(bytes);
      return new KvState(entries, { sessions, maxSessions });
    },
    ...(opts.keepSnapshots === undefined ? {} : { keepSnapshots: opts.keepSnapshots }),
    ...(opts.io === undefined ? {} : { io: opts.io }),
  });
}
