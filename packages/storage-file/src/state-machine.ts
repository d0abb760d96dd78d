/**
 * `fileStateMachine`: a durable `RaftStateMachine` over a user's `apply` function. The state lives in
 * memory; snapshots (state + client sessions) are written durably through `fileSnapshotStore`, and
 * opening restores the newest one, after which the runtime re-applies the log from there. Owns the
 * applied log id, the membership, the session table and when a snapshot is kept; must never touch
 * the log store, nor write anything but snapshots.
 */
import { randomUUID } from 'node:crypto';
import {
  type AppliedState,
  type ApplyEntry,
  collectSnapshotData,
  emptyStoredMembership,
  formatLogId,
  InvalidConfigError,
  type LogId,
  nextIndex,
  type RaftSnapshotBuilder,
  type RaftStateMachine,
  type Snapshot,
  type SnapshotData,
  type SnapshotMeta,
  type SnapshotSink,
  StorageError,
  StorageMisuseError,
  type StoredMembership,
  snapshotDataOf,
} from '@flotilla/types';
import type { FileIO } from './file-io.ts';
import { type FileSnapshotStore, fileSnapshotStore } from './snapshot-store.ts';
import { DEFAULT_MAX_SESSIONS, SessionTable } from './state-machine-sessions.ts';
import {
  decodeStateSnapshot,
  defaultDecode,
  defaultEncode,
  encodeStateSnapshot,
} from './state-machine-snapshot.ts';

/** Options of {@link fileStateMachine}. */
export interface FileStateMachineOptions<S, D, R> {
  /** The directory of the snapshots (created if missing). Give each node its own. */
  dir: string;
  /**
   * The state before any entry is applied; used only when `dir` holds no snapshot. Used as is, and
   * `apply` may change it in place: pass a fresh value.
   */
  initial: S;
  /**
   * Applies one command to the state and returns the next state (the same object, changed in
   * place, or a new one) and the response for the client. Must be deterministic: every node
   * applies the same commands in the same order and must reach the same state. A throw stops the
   * node (the runtime treats it as a storage failure).
   */
  apply: (state: S, data: D, logId: LogId) => readonly [S, R];
  /**
   * Encodes the state for a snapshot. Called when the snapshot is captured (between two applies),
   * so `apply` may keep changing the state in place. Default: msgpack with msgpackr's
   * structured-clone extension (`Map`, `Set`, `Date`, typed arrays, `BigInt` and cycles survive;
   * class instances come back as plain objects).
   */
  encode?: (state: S) => Uint8Array;
  /** Decodes what `encode` made. Throwing refuses the snapshot. Default: see `encode`. */
  decode?: (bytes: Uint8Array) => S;
  /** Snapshots kept in `dir` (the newest). Default 2, at least 1. */
  keepSnapshots?: number;
  /**
   * Most client sessions remembered; beyond it the least recently applied one is forgotten (a
   * retry of its last write is then applied again). Part of the replicated rules: every node must
   * use the same value. Default 100,000.
   */
  maxSessions?: number;
  /** File-system access. Default: `node:fs` (tests pass `CrashFileIO`). */
  io?: FileIO;
}

/**
 * A durable `RaftStateMachine` (see {@link fileStateMachine}). Applies entries in log order,
 * each exactly once per client session; `snapshotBuilder()` captures the state at once and
 * `buildSnapshot()` writes it durably; `installSnapshot` is atomic and durable before it resolves.
 */
export class FileStateMachine<S, D, R> implements RaftStateMachine<D, R> {
  readonly #store: FileSnapshotStore;
  readonly #apply: (state: S, data: D, logId: LogId) => readonly [S, R];
  readonly #encode: (state: S) => Uint8Array;
  readonly #decode: (bytes: Uint8Array) => S;
  readonly #maxSessions: number;
  #state: S;
  #sessions: SessionTable<R>;
  #lastApplied: LogId | null;
  #membership: StoredMembership;
  /** The newest snapshot kept (built or installed), or `null`. */
  #kept: SnapshotMeta | null;
  /** Installs so far: a snapshot captured before the latest install is never kept. */
  #installs = 0;
  /** Keeping a snapshot (check, save, record) runs one at a time. */
  #keeping: Promise<unknown> = Promise.resolve();

  /** @internal Use {@link fileStateMachine}. */
  constructor(
    store: FileSnapshotStore,
    opts: FileStateMachineOptions<S, D, R>,
    restored: { meta: SnapshotMeta; state: S; sessions: SessionTable<R> } | null,
  ) {
    this.#store = store;
    this.#apply = opts.apply;
    this.#encode = opts.encode ?? (defaultEncode as (state: S) => Uint8Array);
    this.#decode = opts.decode ?? (defaultDecode as (bytes: Uint8Array) => S);
    this.#maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.#state = restored?.state ?? opts.initial;
    this.#sessions = restored?.sessions ?? new SessionTable<R>(this.#maxSessions);
    this.#lastApplied = restored?.meta.lastLogId ?? null;
    this.#membership = restored?.meta.lastMembership ?? emptyStoredMembership();
    this.#kept = restored?.meta ?? null;
  }

  /** The current application state (read it; change it only through `apply`). */
  get state(): S {
    return this.#state;
  }

  /** The snapshot directory (absolute). */
  get dir(): string {
    return this.#store.dir;
  }

  /** The last applied sequence of a client session, if the table remembers it. */
  lastSequence(clientId: string): number | undefined {
    return this.#sessions.lastSequence(clientId);
  }

  /** The last applied entry and membership (restored from the snapshot at start-up). */
  async appliedState(): Promise<AppliedState> {
    return { lastApplied: this.#lastApplied, lastMembership: this.#membership };
  }

  /**
   * Applies entries in order; refuses (with `StorageMisuseError`) an entry that is not the next
   * one. A write carrying a client session whose sequence is not above the client's last applied
   * one is not applied again: it answers the first application's response (`undefined` for an
   * older one), as `withClientSessions` of `@flotilla/raft` does.
   */
  async apply(entries: readonly ApplyEntry<D>[]): Promise<(R | undefined)[]> {
    const out: (R | undefined)[] = [];
    for (const e of entries) {
      if (e.logId.index !== nextIndex(this.#lastApplied)) {
        throw new StorageMisuseError(
          'NotConsecutive',
          `apply of ${formatLogId(e.logId)} after ${formatLogId(this.#lastApplied)}: entries must be applied in order`,
        );
      }
      const p = e.payload;
      if (p.type === 'normal') {
        const verdict =
          p.session === undefined ? null : this.#sessions.check(p.session.clientId, p.session.sequence);
        if (verdict?.duplicate === true) out.push(verdict.response);
        else {
          const [next, response] = this.#apply(this.#state, p.data, e.logId);
          this.#state = next;
          if (p.session !== undefined)
            this.#sessions.record(p.session.clientId, p.session.sequence, response);
          out.push(response);
        }
      } else {
        if (p.type === 'membership') this.#membership = { logId: e.logId, membership: p.membership };
        out.push(undefined);
      }
      this.#lastApplied = e.logId;
    }
    return out;
  }

  /**
   * Captures the state, the sessions, the applied log id and the membership now (encoding the
   * state), so later applies never leak into the snapshot; `buildSnapshot()` then writes it
   * durably and resolves once it is on disk. A snapshot older than the one kept (or captured before
   * an install) is returned but not kept.
   */
  snapshotBuilder(): RaftSnapshotBuilder {
    const lastLogId = this.#lastApplied;
    const lastMembership = this.#membership;
    const installs = this.#installs;
    let bytes: Uint8Array | null = null;
    let failure: unknown = null;
    try {
      bytes = encodeStateSnapshot(this.#sessions.rows(), this.#encode(this.#state));
    } catch (err) {
      failure = err;
    }
    return {
      buildSnapshot: async (): Promise<Snapshot> => {
        if (bytes === null)
          throw new StorageError('snapshot', 'encoding the state failed', { cause: failure });
        const data = bytes;
        const meta: SnapshotMeta = {
          lastLogId,
          lastMembership,
          snapshotId: `${formatLogId(lastLogId)}-${randomUUID().slice(0, 8)}`,
        };
        await this.#keep(() => {
          const kept = this.#kept;
          if (installs !== this.#installs) return null;
          if (kept !== null && nextIndex(kept.lastLogId) > nextIndex(lastLogId)) return null;
          return { meta, bytes: data };
        });
        return { meta, data: snapshotDataOf(data) };
      },
    };
  }

  /**
   * Replaces the whole state (application state, sessions, applied log id, membership) with a
   * snapshot, after writing it durably: if reading, decoding or saving fails, nothing changes.
   */
  async installSnapshot(meta: SnapshotMeta, data: SnapshotData): Promise<void> {
    const what = `snapshot ${meta.snapshotId}`;
    let bytes: Uint8Array;
    try {
      bytes = await collectSnapshotData(data);
    } catch (err) {
      throw new StorageError('snapshot', `${what}: reading the data failed`, { cause: err });
    }
    const decoded = decodeSnapshot<S, R>(bytes, what, this.#decode, this.#maxSessions);
    this.#installs++;
    await this.#keep(() => ({ meta, bytes }));
    this.#state = decoded.state;
    this.#sessions = decoded.sessions;
    this.#lastApplied = meta.lastLogId;
    this.#membership = meta.lastMembership;
  }

  /** A snapshot arriving from the leader is spooled to a temp file in the snapshot directory. */
  beginReceivingSnapshot(_meta: SnapshotMeta): Promise<SnapshotSink> {
    return this.#store.beginReceiving();
  }

  /** The newest kept snapshot, read back from its file (checksummed as it is read), or `null`. */
  async getCurrentSnapshot(): Promise<Snapshot | null> {
    const s = await this.#store.latest();
    return s === null ? null : { meta: s.meta, data: s.data };
  }

  /** Runs `decide` and saves what it returns, one keep at a time; a saved snapshot becomes the kept one. */
  #keep(decide: () => { meta: SnapshotMeta; bytes: Uint8Array } | null): Promise<void> {
    const run = this.#keeping.then(async () => {
      const next = decide();
      if (next === null) return;
      await this.#store.save(next.meta, next.bytes);
      this.#kept = next.meta;
    });
    this.#keeping = run.catch(() => undefined);
    return run;
  }
}

/** Decodes snapshot data (envelope, sessions, state); a `StorageError` (op `snapshot`) when it is not one. */
function decodeSnapshot<S, R>(
  bytes: Uint8Array,
  what: string,
  decode: (bytes: Uint8Array) => S,
  maxSessions: number,
): { state: S; sessions: SessionTable<R> } {
  const { sessions, state } = decodeStateSnapshot<R>(bytes, what);
  let decoded: S;
  try {
    decoded = decode(state);
  } catch (err) {
    throw new StorageError('snapshot', `${what}: decoding the state failed`, { cause: err });
  }
  return { state: decoded, sessions: new SessionTable<R>(maxSessions, sessions) };
}

function checkOptions<S, D, R>(opts: FileStateMachineOptions<S, D, R>): void {
  if (typeof opts.dir !== 'string' || opts.dir === '')
    throw new InvalidConfigError('dir', 'must be a non-empty path');
  if (typeof opts.apply !== 'function') throw new InvalidConfigError('apply', 'must be a function');
  for (const [field, v] of [
    ['keepSnapshots', opts.keepSnapshots],
    ['maxSessions', opts.maxSessions],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1))
      throw new InvalidConfigError(field, `must be an integer >= 1, got ${String(v)}`);
  }
}

/**
 * Opens a durable state machine whose snapshots live in `opts.dir`: restores the newest snapshot
 * there (state, client sessions, applied log id, membership), or starts from `opts.initial`. Give
 * it to `Raft.create` with a log store; after a restart the runtime re-applies the log entries
 * that follow the restored snapshot.
 *
 * Durability: applied entries live in memory until a snapshot covers them (the log holds them
 * until then); a snapshot is on disk (written, `fdatasync`ed, renamed, directory synced) before
 * `buildSnapshot()` or `installSnapshot()` resolves, which is before the runtime purges the log it
 * covers. A crash therefore loses nothing acknowledged: the state comes back at its last snapshot
 * and the log replays the rest.
 *
 * @throws {InvalidConfigError} `INVALID_CONFIG` for a bad option.
 * @throws {StorageError} `STORAGE` (op `snapshot`) when the newest snapshot is damaged or not
 *   one of this state machine's; `StoreOpenError` codes when the directory cannot be opened.
 *
 * @example
 * ```ts
 * const sm = await fileStateMachine<Map<string, string>, { key: string; value: string }, string | null>({
 *   dir: '/var/lib/kv/sm',
 *   initial: new Map(),
 *   apply: (state, { key, value }) => {
 *     const old = state.get(key) ?? null;
 *     state.set(key, value);
 *     return [state, old];
 *   },
 * });
 * const raft = await Raft.create({ id: 'a', config, network, logStore, stateMachine: sm });
 * ```
 */
export async function fileStateMachine<S, D, R>(
  opts: FileStateMachineOptions<S, D, R>,
): Promise<FileStateMachine<S, D, R>> {
  checkOptions(opts);
  const store = await fileSnapshotStore(opts.dir, {
    keep: opts.keepSnapshots ?? 2,
    ...(opts.io === undefined ? {} : { io: opts.io }),
  });
  const latest = await store.latest();
  if (latest === null) return new FileStateMachine(store, opts, null);
  const what = `stored snapshot ${latest.meta.snapshotId} in ${store.dir}`;
  let bytes: Uint8Array;
  try {
    bytes = await collectSnapshotData(latest.data);
  } catch (err) {
    throw new StorageError('snapshot', `${what}: reading it failed`, { cause: err });
  }
  const { state, sessions } = decodeSnapshot<S, R>(
    bytes,
    what,
    opts.decode ?? (defaultDecode as (bytes: Uint8Array) => S),
    opts.maxSessions ?? DEFAULT_MAX_SESSIONS,
  );
  return new FileStateMachine(store, opts, { meta: latest.meta, state, sessions });
}
