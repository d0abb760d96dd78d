import { type FileSnapshotStore, fileSnapshotStore } from '@flotilla/storage-file';
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
import { isPlainObject, type KvRequest, type KvResponse, KvState } from './kv-state.ts';

/** Format version written in every snapshot's data. */
export const KV_SNAPSHOT_VERSION = 1;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Encodes the store's entries as snapshot data: `{"version":1,"entries":[[k,v],…]}` in UTF-8 JSON. */
export function encodeKvSnapshot(entries: readonly (readonly [string, string])[]): Uint8Array {
  return enc.encode(JSON.stringify({ version: KV_SNAPSHOT_VERSION, entries }));
}

/**
 * Decodes snapshot data written by {@link encodeKvSnapshot}. Throws `StorageError` (op `snapshot`)
 * when the bytes are not such a snapshot, so a damaged transfer never replaces the state.
 */
export function decodeKvSnapshot(bytes: Uint8Array): [string, string][] {
  let doc: unknown;
  try {
    doc = JSON.parse(dec.decode(bytes));
  } catch (err) {
    throw new StorageError('snapshot', 'snapshot data is not UTF-8 JSON', { cause: err });
  }
  if (!isPlainObject(doc) || doc.version !== KV_SNAPSHOT_VERSION || !Array.isArray(doc.entries)) {
    throw new StorageError('snapshot', `snapshot data is not a version ${KV_SNAPSHOT_VERSION} kv snapshot`);
  }
  for (const e of doc.entries) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') {
      throw new StorageError('snapshot', 'snapshot entry is not a [key, value] pair of strings');
    }
  }
  return doc.entries as [string, string][];
}

/** Options of {@link openKvStateMachine}. */
export interface KvStateMachineOptions {
  /** Snapshots kept on disk (the newest). Default 2. */
  keepSnapshots?: number;
}

/**
 * The replicated key-value state machine of flotilla-kv. The data lives in memory; snapshots are
 * written durably to files (temp + fsync + rename, via `@flotilla/storage-file`'s snapshot store),
 * and opening the state machine restores the newest one. Entries after the snapshot are re-applied
 * by the runtime from the log after a restart.
 */
export class KvStateMachine implements RaftStateMachine<KvRequest, KvResponse> {
  #state: KvState;
  #lastApplied: LogId | null;
  #lastMembership: StoredMembership;
  readonly #snapshots: FileSnapshotStore;
  #snapshotSeq = 0;
  #appliedWrites = 0;

  /** @internal Use {@link openKvStateMachine}. */
  constructor(snapshots: FileSnapshotStore, state: KvState, meta: SnapshotMeta | null) {
    this.#snapshots = snapshots;
    this.#state = state;
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
          out.push(this.#state.apply(e.payload.data));
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

  /** {@inheritDoc RaftStateMachine.snapshotBuilder} */
  snapshotBuilder(): RaftSnapshotBuilder {
    // Capture now: later applies must not leak into this snapshot.
    const entries = this.#state.entries();
    const lastLogId = this.#lastApplied;
    const lastMembership = this.#lastMembership;
    const seq = ++this.#snapshotSeq;
    return {
      buildSnapshot: async (): Promise<Snapshot> => {
        const bytes = encodeKvSnapshot(entries);
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
    const entries = decodeKvSnapshot(bytes);
    await this.#snapshots.save(meta, bytes);
    this.#state = new KvState(entries);
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
  const snapshots = await fileSnapshotStore(dir, { keep: opts.keepSnapshots ?? 2 });
  const latest = await snapshots.latest();
  if (latest === null) return new KvStateMachine(snapshots, new KvState(), null);
  const entries = decodeKvSnapshot(await collectSnapshotData(latest.data));
  return new KvStateMachine(snapshots, new KvState(entries), latest.meta);
}
