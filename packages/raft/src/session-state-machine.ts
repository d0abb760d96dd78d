import {
  type AppliedState,
  type ApplyEntry,
  type RaftSnapshotBuilder,
  type RaftStateMachine,
  type Snapshot,
  type SnapshotData,
  type SnapshotMeta,
  type SnapshotSink,
  StorageError,
} from '@flotilla/types';
import { Packr } from 'msgpackr';
import { ClientSessions } from './sessions.ts';

/** Marks snapshot data written by {@link withClientSessions} ("FLCS"). */
const MAGIC = 0x464c4353;
/** Magic (4 bytes) + length of the sessions block (4 bytes). */
const HEADER_BYTES = 8;

/** Options of {@link withClientSessions}. */
export interface ClientSessionsOptions {
  /** Most client sessions remembered (least recently used forgotten first). Default 100,000. */
  maxSessions?: number;
}

/**
 * Wraps a state machine so that writes carrying a client session (`{clientId, sequence}` given to
 * `clientWrite`) are applied at most once (Raft thesis §6.3): a write whose sequence is not above the
 * last one applied for its client reaches the inner state machine as a `blank` entry (so its applied
 * index still advances) and answers with the response of the first application (`undefined` if that
 * session was forgotten).
 *
 * The sessions are part of the replicated state: every snapshot carries them in a small header in
 * front of the inner state machine's snapshot data, and installing a snapshot restores them. Works
 * with any state machine that rebuilds its state from snapshots and the log (such as `@flotilla/memory`'s
 * `memoryStateMachine`); a state machine that persists its own state across restarts without a
 * snapshot must keep a `ClientSessions` inside that state instead.
 *
 * @example
 * ```ts
 * const sm = withClientSessions(memoryStateMachine({ initial: {}, apply }));
 * const raft = await Raft.create({ id: 'a', network, logStore, stateMachine: sm });
 * await raft.clientWrite(cmd, { clientId: 'c1', sequence: 7 }); // a retry with sequence 7 is not re-applied
 * ```
 */
export function withClientSessions<D, R>(
  inner: RaftStateMachine<D, R>,
  opts: ClientSessionsOptions = {},
): RaftStateMachine<D, R> & { readonly sessions: ClientSessions<R> } {
  return new SessionStateMachine(inner, opts);
}

class SessionStateMachine<D, R> implements RaftStateMachine<D, R> {
  readonly #inner: RaftStateMachine<D, R>;
  readonly #opts: ClientSessionsOptions;
  readonly #packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
  #sessions: ClientSessions<R>;
  /** The sessions block of the newest snapshot this wrapper built or installed, by snapshot id. */
  #current: { snapshotId: string; header: Uint8Array } | null = null;

  /** The inner state machine's spool for received snapshots, when it has one (the bytes pass as they are). */
  readonly beginReceivingSnapshot?: (meta: SnapshotMeta) => Promise<SnapshotSink>;

  constructor(inner: RaftStateMachine<D, R>, opts: ClientSessionsOptions) {
    this.#inner = inner;
    this.#opts = opts;
    this.#sessions = new ClientSessions<R>(sessionOpts(opts));
    const begin = inner.beginReceivingSnapshot;
    if (begin !== undefined) this.beginReceivingSnapshot = (meta) => begin.call(inner, meta);
  }

  get sessions(): ClientSessions<R> {
    return this.#sessions;
  }

  appliedState(): Promise<AppliedState> {
    return this.#inner.appliedState();
  }

  async apply(entries: readonly ApplyEntry<D>[]): Promise<(R | undefined)[]> {
    const out: (R | undefined)[] = [];
    // Entries are applied one run at a time so that a duplicate sees every earlier entry's session.
    let run: ApplyEntry<D>[] = [];
    let runSessions: ({ clientId: string; sequence: number } | undefined)[] = [];
    const flush = async (): Promise<void> => {
      if (run.length === 0) return;
      const responses = await this.#inner.apply(run);
      run.forEach((_, i) => {
        const s = runSessions[i];
        const r = responses[i];
        if (s !== undefined) this.#sessions.apply(s.clientId, s.sequence, () => r as R);
        out.push(r);
      });
      run = [];
      runSessions = [];
    };
    for (const e of entries) {
      const p = e.payload;
      if (p.type !== 'normal' || p.session === undefined) {
        run.push(e);
        runSessions.push(undefined);
        continue;
      }
      const session = p.session;
      const last = this.#sessions.lastSequence(session.clientId);
      const pendingInRun = runSessions.some(
        (s) => s !== undefined && s.clientId === session.clientId && s.sequence >= session.sequence,
      );
      if ((last !== undefined && session.sequence <= last) || pendingInRun) {
        await flush();
        const { response } = this.#sessions.apply(session.clientId, session.sequence, () => {
          throw new StorageError('apply', 'a duplicate write must not be executed');
        });
        await this.#inner.apply([{ logId: e.logId, payload: { type: 'blank' } }]);
        out.push(response);
        continue;
      }
      run.push(e);
      runSessions.push(session);
    }
    await flush();
    return out;
  }

  snapshotBuilder(): RaftSnapshotBuilder {
    // Capture the sessions together with the inner builder: both reflect the same applied index.
    const header = this.#encodeHeader();
    const builder = this.#inner.snapshotBuilder();
    return {
      buildSnapshot: async (): Promise<Snapshot> => {
        const snap = await builder.buildSnapshot();
        this.#remember(snap.meta, header);
        return { meta: snap.meta, data: prefixed(header, snap.data) };
      },
    };
  }

  async installSnapshot(meta: SnapshotMeta, data: SnapshotData): Promise<void> {
    const { header, rest } = await splitHeader(data);
    let rows: [string, number, R][];
    try {
      rows = this.#packr.unpack(header.subarray(HEADER_BYTES)) as [string, number, R][];
      if (!Array.isArray(rows)) throw new Error('the sessions block is not a list');
    } catch (err) {
      throw new StorageError('snapshot', `snapshot ${meta.snapshotId}: bad client sessions block`, {
        cause: err,
      });
    }
    await this.#inner.installSnapshot(meta, rest);
    this.#sessions = ClientSessions.fromJSON(rows, sessionOpts(this.#opts));
    this.#remember(meta, header);
  }

  async getCurrentSnapshot(): Promise<Snapshot | null> {
    const snap = await this.#inner.getCurrentSnapshot();
    if (snap === null) return null;
    const current = this.#current;
    const header =
      current !== null && current.snapshotId === snap.meta.snapshotId
        ? current.header
        : // A snapshot this wrapper never saw (e.g. taken before it was added): no sessions.
          this.#encodeHeader(new ClientSessions<R>());
    return { meta: snap.meta, data: prefixed(header, snap.data) };
  }

  #remember(meta: SnapshotMeta, header: Uint8Array): void {
    this.#current = { snapshotId: meta.snapshotId, header };
  }

  #encodeHeader(sessions: ClientSessions<R> = this.#sessions): Uint8Array {
    const body = this.#packr.pack(sessions.toJSON());
    const out = new Uint8Array(HEADER_BYTES + body.byteLength);
    const view = new DataView(out.buffer);
    view.setUint32(0, MAGIC);
    view.setUint32(4, body.byteLength);
    out.set(body, HEADER_BYTES);
    return out;
  }
}

function sessionOpts(opts: ClientSessionsOptions): { maxSessions?: number } {
  return opts.maxSessions === undefined ? {} : { maxSessions: opts.maxSessions };
}

async function* prefixed(header: Uint8Array, data: SnapshotData): SnapshotData {
  yield header;
  yield* data;
}

/** Reads the sessions block off the front of `data` (however it was chunked); returns the rest. */
async function splitHeader(data: SnapshotData): Promise<{ header: Uint8Array; rest: SnapshotData }> {
  const it = data[Symbol.asyncIterator]();
  let buf = new Uint8Array(0);
  const fill = async (n: number): Promise<void> => {
    while (buf.byteLength < n) {
      const next = await it.next();
      if (next.done === true) {
        throw new StorageError('snapshot', 'snapshot data ended inside the client sessions block');
      }
      const joined = new Uint8Array(buf.byteLength + next.value.byteLength);
      joined.set(buf);
      joined.set(next.value, buf.byteLength);
      buf = joined;
    }
  };
  await fill(HEADER_BYTES);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(0) !== MAGIC) {
    throw new StorageError('snapshot', 'snapshot data has no client sessions block');
  }
  const total = HEADER_BYTES + view.getUint32(4);
  await fill(total);
  const header = buf.subarray(0, total);
  const tail = buf.subarray(total);
  async function* rest(): SnapshotData {
    if (tail.byteLength > 0) yield tail;
    for (;;) {
      const next = await it.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
  return { header, rest: rest() };
}
