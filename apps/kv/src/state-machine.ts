import { ClientSessions } from '@flotilla/raft';
import { type FileIO, type FileSnapshotStore, fileSnapshotStore } from '@flotilla/storage-file';
import {
  type AppliedState,
  type ApplyEntry,
  collectSnapshotData,
  emptyStoredMembership,
  formatLogId,
  type LogId,
  type RaftSnapshotBuilder,
  type RaftStateMachine,
  type Snapshot,
  type SnapshotData,
  type SnapshotMeta,
  type SnapshotSink,
  StorageError,
  type StoredMembership,
  snapshotDataOf,
} from '@flotilla/types';
import {
  isPlainObject,
  type KvOperation,
  type KvRequest,
  type KvResponse,
  type KvSessionError,
  KvState,
} from './kv-state.ts';

/**
 * Format version written in every snapshot's data: 2 adds the client sessions; version 1 snapshots
 * (no sessions) are still read.
 */
export const KV_SNAPSHOT_VERSION = 2;

/** A client sessions table row: `[client_id, last sequence, its response]`. */
export type KvSessionRow = [string, number, KvResponse];

/** Default bound of the client sessions table (see {@link KvStateMachineOptions.maxSessions}). */
export const DEFAULT_MAX_SESSIONS = 100_000;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes the store's entries and client sessions as snapshot data:
 * `{"version":2,"entries":[[k,v],…],"sessions":[[client_id,sequence,response],…]}` in UTF-8 JSON.
 */
export function encodeKvSnapshot(
  entries: readonly (readonly [string, string])[],
  sessions: readonly KvSessionRow[] = [],
): Uint8Array {
  return enc.encode(JSON.stringify({ version: KV_SNAPSHOT_VERSION, entries, sessions }));
}

/** Decodes the entries of snapshot data written by {@link encodeKvSnapshot} (see {@link decodeKvSnapshotFull}). */
export function decodeKvSnapshot(bytes: Uint8Array): [string, string][] {
  return decodeKvSnapshotFull(bytes).entries;
}

/**
 * Decodes snapshot data written by {@link encodeKvSnapshot} (version 1 or 2). Throws `StorageError`
 * (op `snapshot`) when the bytes are not such a snapshot, so a damaged transfer never replaces the state.
 */
export function decodeKvSnapshotFull(bytes: Uint8Array): {
  entries: [string, string][];
  sessions: KvSessionRow[];
} {
  let doc: unknown;
  try {
    doc = JSON.parse(dec.decode(bytes));
  } catch (err) {
    throw new StorageError('snapshot', 'snapshot data is not UTF-8 JSON', { cause: err });
  }
  if (
    !isPlainObject(doc) ||
    (doc.version !== 1 && doc.version !== KV_SNAPSHOT_VERSION) ||
    !Array.isArray(doc.entries)
  ) {
    throw new StorageError(
      'snapshot',
      `snapshot data is not a version 1 or ${KV_SNAPSHOT_VERSION} kv snapshot`,
    );
  }
  for (const e of doc.entries) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') {
      throw new StorageError('snapshot', 'snapshot entry is not a [key, value] pair of strings');
    }
  }
  const sessions = doc.version === 1 ? [] : doc.sessions;
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
  /**
   * Most client sessions remembered; beyond it the least recently used one is evicted (its client
   * then gets `SessionExpired`). Part of the replicated rules: every node must use the same value.
   * Default {@link DEFAULT_MAX_SESSIONS}.
   */
  maxSessions?: number;
}

/**
 * The replicated key-value state machine of flotilla-kv. The data lives in memory; snapshots are
 * written durably to files (temp + fsync + rename, via `@flotilla/storage-file`'s snapshot store),
 * and opening the state machine restores the newest one. Entries after the snapshot are re-applied
 * by the runtime from the log after a restart.
 */
export class KvStateMachine implements RaftStateMachine<KvRequest, KvResponse> {
  #state: KvState;
  #sessions: ClientSessions<KvResponse>;
  readonly #maxSessions: number;
  #lastApplied: LogId | null;
  #lastMembership: StoredMembership;
  readonly #snapshots: FileSnapshotStore;
  #snapshotSeq = 0;
  #appliedWrites = 0;

  /** @internal Use {@link openKvStateMachine}. */
  constructor(
    snapshots: FileSnapshotStore,
    state: KvState,
    meta: SnapshotMeta | null,
    sessions: readonly KvSessionRow[] = [],
    maxSessions = DEFAULT_MAX_SESSIONS,
  ) {
    this.#snapshots = snapshots;
    this.#state = state;
    this.#maxSessions = maxSessions;
    this.#sessions = ClientSessions.fromJSON([...sessions], { maxSessions });
    this.#lastApplied = meta?.lastLogId ?? null;
    this.#lastMembership = meta?.lastMembership ?? emptyStoredMembership();
  }

  /** Reads `key` from the local state (not linearizable by itself). */
  get(key: string): string | undefined {
    return this.#state.get(key);
  }

  /** Number of keys. */
  get size(): number {
    return this.#state.size;
  }

  /** The last applied sequence of a client session, if the table remembers it. */
  lastSequence(clientId: string): number | undefined {
    return this.#sessions.lastSequence(clientId);
  }

  /** Application writes applied by this process since it started (for rates and metrics). */
  get appliedWrites(): number {
    return this.#appliedWrites;
  }

  /** The last applied log id. */
  get lastApplied(): LogId | null {
    return this.#lastApplied;
  }

  /** The directory holding the snapshots. */
  get snapshotDir(): string {
    return this.#snapshots.dir;
  }

  /** {@inheritDoc RaftStateMachine.appliedState} */
  async appliedState(): Promise<AppliedState> {
    return { lastApplied: this.#lastApplied, lastMembership: this.#lastMembership };
  }

  /** {@inheritDoc RaftStateMachine.apply} */
  async apply(entries: readonly ApplyEntry<KvRequest>[]): Promise<(KvResponse | undefined)[]> {
    const out: (KvResponse | undefined)[] = [];
    for (const e of entries) {
      this.#lastApplied = e.logId;
      switch (e.payload.type) {
        case 'normal':
          out.push(this.#applyWrite(e.payload.data));
          this.#appliedWrites++;
          break;
        case 'membership':
          this.#lastMembership = { logId: e.logId, membership: e.payload.membership };
          out.push(undefined);
          break;
        case 'blank':
          out.push(undefined);
          break;
      }
    }
    return out;
  }

  /**
   * Applies one write, at most once per `(client_id, sequence)` when it carries a session: a
   * duplicate answers the first application's response; a session the table does not know, with a
   * sequence above 1, is refused as `SessionExpired` (it was evicted, or never opened: applying it
   * could apply a retried write twice); a sequence below the session's last is `StaleSequence`.
   */
  #applyWrite(req: KvRequest): KvResponse {
    const { session, ...op } = req;
    if (session === undefined) return this.#state.apply(op as KvOperation);
    const refused = (sessionError: KvSessionError): KvResponse => ({
      value: null,
      applied: false,
      sessionError,
    });
    const last = this.#sessions.lastSequence(session.client_id);
    if (last === undefined && session.sequence > 1) return refused('SessionExpired');
    const { response } = this.#sessions.apply(session.client_id, session.sequence, () =>
      this.#state.apply(op as KvOperation),
    );
    return response ?? refused('StaleSequence');
  }

  /** {@inheritDoc RaftStateMachine.snapshotBuilder} */
  snapshotBuilder(): RaftSnapshotBuilder {
    // Capture now: later applies must not leak into this snapshot.
    const entries = this.#state.entries();
    const sessions = this.#sessions.toJSON();
    const lastLogId = this.#lastApplied;
    const lastMembership = this.#lastMembership;
    const seq = ++this.#snapshotSeq;
    return {
      buildSnapshot: async (): Promise<Snapshot> => {
        const bytes = encodeKvSnapshot(entries, sessions);
        const meta: SnapshotMeta = {
          lastLogId,
          lastMembership,
          snapshotId: `${formatLogId(lastLogId)}-${Date.now().toString(36)}-${seq}`,
        };
        await this.#snapshots.save(meta, bytes);
        return { meta, data: snapshotDataOf(bytes) };
      },
    };
  }

  /** {@inheritDoc RaftStateMachine.installSnapshot} */
  async installSnapshot(meta: SnapshotMeta, data: SnapshotData): Promise<void> {
    const bytes = await collectSnapshotData(data);
    const { entries, sessions } = decodeKvSnapshotFull(bytes);
    await this.#snapshots.save(meta, bytes);
    this.#state = new KvState(entries);
    this.#sessions = ClientSessions.fromJSON(sessions, { maxSessions: this.#maxSessions });
    this.#lastApplied = meta.lastLogId;
    this.#lastMembership = meta.lastMembership;
  }

  /**
   * {@inheritDoc RaftStateMachine.beginReceivingSnapshot}
   * A snapshot from the leader is spooled to a temp file beside the stored snapshots.
   */
  beginReceivingSnapshot(): Promise<SnapshotSink> {
    return this.#snapshots.beginReceiving();
  }

  /** {@inheritDoc RaftStateMachine.getCurrentSnapshot} */
  async getCurrentSnapshot(): Promise<Snapshot | null> {
    const s = await this.#snapshots.latest();
    return s === null ? null : { meta: s.meta, data: s.data };
  }
}

/**
 * Opens the state machine whose snapshots live in `dir` (created if missing) and restores the
 * newest snapshot, if any. Throws `StorageError` when that snapshot is damaged.
 */
export async function openKvStateMachine(
  dir: string,
  opts: KvStateMachineOptions = {},
): Promise<KvStateMachine> {
  const snapshots = await fileSnapshotStore(dir, {
    keep: opts.keepSnapshots ?? 2,
    ...(opts.io === undefined ? {} : { io: opts.io }),
  });
  const max = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const latest = await snapshots.latest();
  if (latest === null) return new KvStateMachine(snapshots, new KvState(), null, [], max);
  const { entries, sessions } = decodeKvSnapshotFull(await collectSnapshotData(latest.data));
  return new KvStateMachine(snapshots, new KvState(entries), latest.meta, sessions, max);
}
