/**
 * What the runtime-level simulator puts between real `Raft` nodes and the memory router and store:
 * outgoing clients that duplicate messages and die with their incarnation, incoming handlers held
 * while their node is paused, a log store whose reads take (virtual) time, and the planted
 * "heartbeat queued behind a large append" link.
 */
import type {
  AppendEntriesRequest,
  AppendEntriesResponse,
  Entry,
  IoFlushed,
  LogId,
  LogState,
  NodeId,
  RaftLogReader,
  RaftLogStorage,
  RaftNetwork,
  RaftNetworkFactory,
  RaftRpcHandler,
  StreamAppendResult,
  Vote,
} from '@flotilla/types';
import { UnreachableError } from '@flotilla/types';
import type { Prng } from '../prng.ts';
import type { NodeClock, SimScheduler } from './scheduler.ts';

/** Shared network settings the driver changes as faults come and go. */
export interface SimNetState {
  /** Probability that a unary AppendEntries or vote is delivered a second time, later. */
  dupRate: number;
  /** Duplicates sent so far. */
  duplicates: number;
  /**
   * Planted bug "a heartbeat queued behind a large append": heartbeats (empty AppendEntries) share a
   * FIFO lane with entry-carrying appends on each link, and appends of `largeEntries` or more
   * entries take `largeMs` on the wire.
   */
  heartbeatBehindAppend: boolean;
  /** Model slow large appends (on their own lane unless `heartbeatBehindAppend`). */
  slowLargeAppends: boolean;
  /** Entries from which an append is "large". */
  largeEntries: number;
  /** How long a large append occupies its link, in ms. */
  largeMs: number;
}

/** A fresh network state with no duplication and no planted link bug. */
export function initialNetState(): SimNetState {
  return {
    dupRate: 0,
    duplicates: 0,
    heartbeatBehindAppend: false,
    slowLargeAppends: false,
    largeEntries: 3,
    largeMs: 200,
  };
}

/** Wraps the memory router's clients and handlers for the simulator. */
export class SimNet {
  readonly #sched: SimScheduler;
  readonly #rng: Prng;
  readonly state: SimNetState;
  /** Per link `from\0to`: the real time until which its append lane is busy. */
  readonly #lane = new Map<string, number>();

  /** A wrapper over `sched`; `rng` decides duplicates. */
  constructor(sched: SimScheduler, rng: Prng, state: SimNetState) {
    this.#sched = sched;
    this.#rng = rng;
    this.state = state;
  }

  /** The factory node `from` (incarnation clock `clock`) uses: wraps `inner`'s clients. */
  factory(from: NodeId, clock: NodeClock, inner: RaftNetworkFactory): RaftNetworkFactory {
    return { newClient: (target, node) => this.#client(from, target, clock, inner.newClient(target, node)) };
  }

  /**
   * The handler registered for node `id`: every call waits while the node is paused and fails once
   * its incarnation died; `observe` sees each AppendEntries that reaches the node.
   */
  handler(
    id: NodeId,
    clock: NodeClock,
    h: RaftRpcHandler,
    observe: (req: AppendEntriesRequest) => void,
  ): RaftRpcHandler {
    const gate = async (): Promise<void> => {
      await clock.whenRunning();
      if (!clock.alive) throw new UnreachableError(`node ${id} crashed`);
    };
    return {
      appendEntries: async (req) => {
        await gate();
        observe(req);
        return h.appendEntries(req);
      },
      vote: async (req) => {
        await gate();
        return h.vote(req);
      },
      streamAppend: (input, opts) => {
        const gated = async function* (): AsyncGenerator<AppendEntriesRequest> {
          for await (const req of input) {
            await gate();
            observe(req);
            yield req;
          }
        };
        return h.streamAppend(gated(), opts);
      },
      installFullSnapshot: async (vote, meta, data) => {
        await gate();
        return h.installFullSnapshot(vote, meta, data);
      },
      transferLeader: async (req) => {
        await gate();
        return h.transferLeader(req);
      },
    };
  }

  #client(from: NodeId, to: NodeId, clock: NodeClock, c: RaftNetwork): RaftNetwork {
    const alive = (): void => {
      if (!clock.alive) throw new UnreachableError(`node ${from} crashed`);
    };
    const dup = (send: () => Promise<unknown>): void => {
      if (this.state.dupRate <= 0 || !this.#rng.chance(this.state.dupRate)) return;
      this.state.duplicates++;
      this.#sched.after(this.#rng.int(0, 30), () => {
        if (clock.alive) send().catch(() => {});
      });
    };
    const out: RaftNetwork = {
      appendEntries: async (req, opts): Promise<AppendEntriesResponse> => {
        alive();
        if (this.state.heartbeatBehindAppend && req.entries.length === 0) await this.#waitLane(from, to);
        alive();
        dup(() => c.appendEntries(req, { timeoutMs: 100 }));
        return c.appendEntries(req, opts);
      },
      vote: async (req, opts) => {
        alive();
        dup(() => c.vote(req, { timeoutMs: 100 }));
        return c.vote(req, opts);
      },
      fullSnapshot: async (vote, snapshot, opts) => {
        alive();
        return c.fullSnapshot(vote, snapshot, opts);
      },
    };
    if (c.transferLeader !== undefined) {
      const t = c.transferLeader.bind(c);
      out.transferLeader = async (req, opts) => {
        alive();
        return t(req, opts);
      };
    }
    if (c.streamAppend !== undefined) {
      const s = c.streamAppend.bind(c);
      out.streamAppend = (input, opts): AsyncIterable<StreamAppendResult> => {
        alive();
        return s(this.state.slowLargeAppends ? this.#slowLane(from, to, input) : input, opts);
      };
    }
    return out;
  }

  /** Passes `input` through the link's append lane: large appends hold it for `largeMs`. */
  async *#slowLane(
    from: NodeId,
    to: NodeId,
    input: AsyncIterable<AppendEntriesRequest>,
  ): AsyncGenerator<AppendEntriesRequest> {
    const key = `${from}\u0000${to}`;
    let mine = -1;
    try {
      for await (const req of input) {
        const cost = req.entries.length >= this.state.largeEntries ? this.state.largeMs : 0;
        const start = Math.max(this.#lane.get(key) ?? 0, this.#sched.now);
        mine = start + cost;
        this.#lane.set(key, mine);
        if (mine > this.#sched.now) await this.#sleepUntil(mine);
        yield req;
      }
    } finally {
      // The connection is gone: what it was still transmitting no longer holds the lane.
      if (this.#lane.get(key) === mine && mine > this.#sched.now) this.#lane.set(key, this.#sched.now);
    }
  }

  async #waitLane(from: NodeId, to: NodeId): Promise<void> {
    const busy = this.#lane.get(`${from}\u0000${to}`) ?? 0;
    if (busy > this.#sched.now) await this.#sleepUntil(busy);
  }

  #sleepUntil(at: number): Promise<void> {
    return new Promise((resolve) => this.#sched.after(at - this.#sched.now, resolve));
  }
}

/**
 * A log store whose reads take virtual time (a disk read): a read waits `delay()` ms on the node's
 * clock and only then looks at the log, so the log may have changed since the read was asked for.
 * Everything else goes straight to `inner`.
 */
export class SlowReadStore implements RaftLogStorage {
  readonly #inner: RaftLogStorage;
  readonly #clock: NodeClock;
  readonly #delay: () => number;

  readonly #syncAfter: (() => void) | null;

  /**
   * Wraps `inner`; `delay()` gives each read's latency in ms (0: none). With `syncAfter`, truncate
   * and purge call it once they resolved (e.g. a full flush: they are durable on resolve).
   */
  constructor(inner: RaftLogStorage, clock: NodeClock, delay: () => number, syncAfter?: () => void) {
    this.#inner = inner;
    this.#clock = clock;
    this.#delay = delay;
    this.#syncAfter = syncAfter ?? null;
  }

  /** @inheritDoc */
  getLogState(): Promise<LogState> {
    return this.#inner.getLogState();
  }
  /** @inheritDoc */
  readVote(): Promise<Vote | null> {
    return this.#inner.readVote();
  }
  /** @inheritDoc */
  saveVote(vote: Vote): Promise<void> {
    return this.#inner.saveVote(vote);
  }
  /** @inheritDoc */
  append(entries: readonly Entry[], onFlushed: IoFlushed): Promise<void> {
    return this.#inner.append(entries, onFlushed);
  }
  /** @inheritDoc */
  async truncate(since: LogId): Promise<void> {
    await this.#inner.truncate(since);
    this.#syncAfter?.();
  }
  /** @inheritDoc */
  async purge(upto: LogId): Promise<void> {
    await this.#inner.purge(upto);
    this.#syncAfter?.();
  }
  /** @inheritDoc */
  async saveCommitted(committed: LogId | null): Promise<void> {
    await this.#inner.saveCommitted?.(committed);
  }
  /** @inheritDoc */
  async readCommitted(): Promise<LogId | null> {
    return (await this.#inner.readCommitted?.()) ?? null;
  }
  /** @inheritDoc */
  reader(): RaftLogReader {
    const r = this.#inner.reader();
    const wait = (): Promise<void> => {
      const ms = this.#delay();
      return ms <= 0 ? Promise.resolve() : new Promise((resolve) => this.#clock.setTimeout(resolve, ms));
    };
    return {
      tryGetLogEntries: async (start, end) => {
        await wait();
        return r.tryGetLogEntries(start, end);
      },
      limitedGetLogEntries: async (start, end) => {
        await wait();
        return r.limitedGetLogEntries(start, end);
      },
      getKeyLogIds: (first, last) => r.getKeyLogIds(first, last),
    };
  }
}
