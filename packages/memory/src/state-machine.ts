import {
  type AppliedState,
  type ApplyEntry,
  collectSnapshotData,
  emptyStoredMembership,
  formatLogId,
  type LogId,
  nextIndex,
  type RaftSnapshotBuilder,
  type RaftStateMachine,
  type Snapshot,
  type SnapshotData,
  type SnapshotMeta,
  StorageError,
  StorageMisuseError,
  type StoredMembership,
  snapshotDataOf,
} from '@flotilla/types';

/** Options of {@link memoryStateMachine}. */
export interface MemoryStateMachineOptions<S, D, R> {
  /** The state before any entry is applied. */
  initial: S;
  /**
   * Applies one command: a pure function from the current state to the next state and the response.
   * It must not mutate `state` (snapshots share it).
   */
  apply: (state: S, data: D, logId: LogId) => readonly [S, R];
  /** Encodes the state for a snapshot (default: UTF-8 JSON). */
  encodeState?: (state: S) => Uint8Array;
  /** Decodes a snapshot's state (default: UTF-8 JSON). Throwing refuses the snapshot. */
  decodeState?: (bytes: Uint8Array) => S;
  /**
   * A snapshot to restart from, e.g. what `durableSnapshot()` returned before a simulated crash:
   * the state, applied log id and membership start from it, and it is the current snapshot.
   */
  snapshot?: MemoryStoredSnapshot;
}

/** A snapshot as the memory state machine keeps it: its meta and its encoded state. */
export interface MemoryStoredSnapshot {
  /** What it covers. */
  meta: SnapshotMeta;
  /** The encoded state. */
  bytes: Uint8Array;
}

type Stored = MemoryStoredSnapshot;

/**
 * An in-memory {@link @flotilla/types#RaftStateMachine} over a pure `apply` function. Entries must arrive in log
 * order (each right after the last applied one); snapshots capture the state when
 * `snapshotBuilder()` is called; installing a snapshot is atomic.
 */
export class MemoryStateMachine<S, D, R> implements RaftStateMachine<D, R> {
  #state: S;
  #lastApplied: LogId | null = null;
  #membership: StoredMembership = emptyStoredMembership();
  #current: Stored | null = null;
  #snapshots = 0;
  readonly #apply: (state: S, data: D, logId: LogId) => readonly [S, R];
  readonly #encode: (state: S) => Uint8Array;
  readonly #decode: (bytes: Uint8Array) => S;

  /** Use {@link memoryStateMachine}. */
  constructor(opts: MemoryStateMachineOptions<S, D, R>) {
    this.#state = opts.initial;
    this.#apply = opts.apply;
    this.#encode = opts.encodeState ?? ((s) => new TextEncoder().encode(JSON.stringify(s)));
    this.#decode = opts.decodeState ?? ((b) => JSON.parse(new TextDecoder().decode(b)) as S);
    if (opts.snapshot !== undefined) {
      const { meta, bytes } = opts.snapshot;
      this.#state = this.#decode(bytes);
      this.#lastApplied = meta.lastLogId;
      this.#membership = meta.lastMembership;
      this.#current = { meta, bytes: bytes.slice() };
    }
  }

  /**
   * The current snapshot as stored (what a real state machine would have persisted), or `null`.
   * Pass it as `snapshot` to a new instance to simulate a restart: applied entries after it are
   * forgotten and must be re-applied from the log.
   */
  durableSnapshot(): MemoryStoredSnapshot | null {
    const c = this.#current;
    return c === null ? null : { meta: c.meta, bytes: c.bytes.slice() };
  }

  /** The current application state. */
  get state(): S {
    return this.#state;
  }

  /** How many snapshots were built. */
  get snapshotsBuilt(): number {
    return this.#snapshots;
  }

  /** The last applied log id and the last membership applied (or installed with a snapshot). */
  async appliedState(): Promise<AppliedState> {
    return { lastApplied: this.#lastApplied, lastMembership: this.#membership };
  }

  /** Applies entries in order; refuses (with `StorageMisuseError`) an entry that is not the next one. */
  async apply(entries: readonly ApplyEntry<D>[]): Promise<(R | undefined)[]> {
    const out: (R | undefined)[] = [];
    for (const e of entries) {
      if (e.logId.index !== nextIndex(this.#lastApplied)) {
        throw new StorageMisuseError(
          'NotConsecutive',
          `apply of ${formatLogId(e.logId)} after ${formatLogId(this.#lastApplied)}: entries must be applied in order`,
        );
      }
      switch (e.payload.type) {
        case 'normal': {
          const [next, response] = this.#apply(this.#state, e.payload.data, e.logId);
          this.#state = next;
          out.push(response);
          break;
        }
        case 'membership':
          this.#membership = { logId: e.logId, membership: e.payload.membership };
          out.push(undefined);
          break;
        case 'blank':
          out.push(undefined);
          break;
      }
      this.#lastApplied = e.logId;
    }
    return out;
  }

  /** A builder of a snapshot of the state as it is now (later applies do not leak into it). */
  snapshotBuilder(): RaftSnapshotBuilder {
    // Capture now: later applies must not leak into this snapshot.
    const state = this.#state;
    const lastLogId = this.#lastApplied;
    const lastMembership = this.#membership;
    return {
      buildSnapshot: async () => {
        let bytes: Uint8Array;
        try {
          bytes = this.#encode(state);
        } catch (err) {
          throw new StorageError('snapshot', 'encoding the state failed', { cause: err });
        }
        this.#snapshots++;
        const meta: SnapshotMeta = {
          lastLogId,
          lastMembership,
          snapshotId: `${formatLogId(lastLogId)}-${this.#snapshots}`,
        };
        this.#keep(meta, bytes);
        return { meta, data: snapshotDataOf(bytes) };
      },
    };
  }

  /** Replaces the state with the snapshot; if reading or decoding `data` fails, nothing changes. */
  async installSnapshot(meta: SnapshotMeta, data: SnapshotData): Promise<void> {
    let bytes: Uint8Array;
    let state: S;
    try {
      bytes = await collectSnapshotData(data);
      state = this.#decode(bytes);
    } catch (err) {
      throw new StorageError('snapshot', `installing snapshot ${meta.snapshotId} failed`, { cause: err });
    }
    this.#state = state;
    this.#lastApplied = meta.lastLogId;
    this.#membership = meta.lastMembership;
    this.#current = { meta, bytes };
  }

  /** The newest snapshot built or installed, with a fresh data stream, or `null` if none. */
  async getCurrentSnapshot(): Promise<Snapshot | null> {
    const c = this.#current;
    return c === null ? null : { meta: c.meta, data: snapshotDataOf(c.bytes) };
  }

  #keep(meta: SnapshotMeta, bytes: Uint8Array): void {
    // A snapshot built from an older state than the current one never replaces it.
    const cur = this.#current;
    if (cur !== null && nextIndex(cur.meta.lastLogId) > nextIndex(meta.lastLogId)) return;
    this.#current = { meta, bytes };
  }
}

/**
 * Makes an in-memory state machine over a pure apply function.
 *
 * @example
 * ```ts
 * const sm = memoryStateMachine<number, number, number>({
 *   initial: 0,
 *   apply: (sum, n) => [sum + n, sum + n],
 * });
 * ```
 */
export function memoryStateMachine<S, D, R>(
  opts: MemoryStateMachineOptions<S, D, R>,
): MemoryStateMachine<S, D, R> {
  return new MemoryStateMachine(opts);
}
