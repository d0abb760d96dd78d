import type { AppendEntriesResponse, Entry, LogId, Membership, NodeId, Vote } from '@flotilla/types';
import type { Command, EngineConfig, ReplicationResult } from '../src/index.ts';
import { Engine } from '../src/index.ts';

/** A node of the driver: an engine and its log (instantly durable). */
export interface DNode {
  engine: Engine;
  log: Entry[];
}

type Reply = { to: NodeId; handle: (r: unknown) => void };

/**
 * A tiny synchronous cluster driver for scenario tests: writes are durable at once, messages are
 * queued FIFO and delivered by `settle()`; `down` nodes drop everything. No randomness: election
 * timeouts are driven explicitly with `elect`.
 */
export class Driver {
  readonly nodes = new Map<NodeId, DNode>();
  readonly down = new Set<NodeId>();
  #queue: { from: NodeId; to: NodeId; run: () => void }[] = [];
  #streams = new Map<NodeId, Map<NodeId, { inflightId: number; sent: LogId | null }>>();
  now = 1000;

  constructor(logs: Record<NodeId, { vote: Vote; log: Entry[] }>, config: Partial<EngineConfig> = {}) {
    for (const [id, s] of Object.entries(logs)) {
      const engine = new Engine({
        id,
        config: {
          enablePreVote: false,
          electionTimeoutMinMs: 10_000,
          electionTimeoutMaxMs: 20_000,
          heartbeatIntervalMs: 1000,
          leaseMs: 1,
          ...config,
        },
        random: () => 0,
      });
      const memberships = s.log
        .filter((e) => e.payload.type === 'membership')
        .slice(-2)
        .map((e) => ({
          logId: e.logId,
          membership: (e.payload as { type: 'membership'; membership: Membership }).membership,
        }));
      engine.startup(
        {
          vote: s.vote,
          purged: null,
          keyLogIds: s.log.map((e) => e.logId),
          committed: null,
          applied: null,
          snapshot: null,
          memberships,
        },
        0,
      );
      this.nodes.set(id, { engine, log: [...s.log] });
    }
    for (const id of this.nodes.keys()) this.run(id);
  }

  node(id: NodeId): DNode {
    return this.nodes.get(id)!;
  }

  /** Runs every command of `id` (storage is instantly durable). */
  run(id: NodeId): void {
    const n = this.node(id);
    for (let i = 0; i < 100; i++) {
      const cmds = n.engine.takeCommands();
      if (cmds.length === 0) break;
      let maxIo = 0;
      const later: Command[] = [];
      for (const c of cmds) {
        if (
          c.type === 'saveVote' ||
          c.type === 'appendEntries' ||
          c.type === 'truncateLog' ||
          c.type === 'purgeLog'
        ) {
          maxIo = c.ioId;
          if (c.type === 'appendEntries') n.log.push(...c.entries);
          if (c.type === 'truncateLog') n.log = n.log.filter((e) => e.logId.index < c.since.index);
        } else later.push(c);
      }
      for (const c of later) this.#exec(id, c);
      if (maxIo > 0) n.engine.onLocalIo({ type: 'flushed', ioId: maxIo }, this.now);
    }
    this.#pump(id);
  }

  #send(from: NodeId, to: NodeId, run: () => void): void {
    this.#queue.push({ from, to, run });
  }

  #entries(id: NodeId, prev: LogId | null, last: LogId | null): Entry[] {
    const lo = prev === null ? 0 : prev.index + 1;
    const hi = last === null ? -1 : last.index;
    return this.node(id).log.filter((e) => e.logId.index >= lo && e.logId.index <= hi);
  }

  #append(
    from: NodeId,
    to: NodeId,
    prev: LogId | null,
    last: LogId | null,
    done: (r: AppendEntriesResponse) => void,
  ): void {
    const e = this.node(from).engine;
    const req = {
      vote: e.vote(),
      prevLogId: prev,
      entries: this.#entries(from, prev, last),
      leaderCommit: e.committed(),
    };
    this.#send(from, to, () => {
      const reply: Reply = { to: from, handle: (r) => done(r as AppendEntriesResponse) };
      this.node(to).engine.handleAppendEntries(req, reply, this.now);
      this.run(to);
    });
  }

  #result(r: AppendEntriesResponse, prev: LogId | null, last: LogId | null): ReplicationResult {
    if (r.type === 'success') return { type: 'matched', matching: last, sentAt: this.now };
    if (r.type === 'conflict')
      return prev === null ? { type: 'failed' } : { type: 'conflict', prevLogId: prev, sentAt: this.now };
    if (r.type === 'higherVote') return { type: 'higherVote', vote: r.vote };
    return { type: 'matched', matching: r.matching, sentAt: this.now };
  }

  #progress(id: NodeId, target: NodeId, inflightId: number | null, result: ReplicationResult): void {
    this.node(id).engine.onReplicationProgress(target, { inflightId, result }, this.now);
    this.run(id);
  }

  #exec(id: NodeId, c: Command): void {
    switch (c.type) {
      case 'respond': {
        const reply = c.reply as Reply;
        this.#send(id, reply.to, () => reply.handle(c.response.response));
        return;
      }
      case 'sendVote':
        this.#send(id, c.target, () => {
          const reply: Reply = {
            to: id,
            handle: (r) => {
              this.node(id).engine.handleVoteResponse(c.target, r as never, this.now);
              this.run(id);
            },
          };
          this.node(c.target).engine.handleVoteRequest(c.request, reply, this.now);
          this.run(c.target);
        });
        return;
      case 'replicate':
        if (c.payload.type === 'logs') {
          const { prev, last } = c.payload;
          this.#append(id, c.target, prev, last, (r) =>
            this.#progress(id, c.target, c.inflightId, this.#result(r, prev, last)),
          );
        } else {
          let m = this.#streams.get(id);
          if (m === undefined) this.#streams.set(id, (m = new Map()));
          m.set(c.target, { inflightId: c.inflightId, sent: c.payload.prev });
        }
        return;
      case 'rebuildReplicationStreams':
        if (c.closeOldStreams) this.#streams.delete(id);
        return;
      case 'sendTransferLeader':
        this.#send(id, c.target, () => {
          this.node(c.target).engine.handleTransferLeader(c.request, this.now);
          this.run(c.target);
        });
        return;
      default:
        return;
    }
  }

  #pump(id: NodeId): void {
    const m = this.#streams.get(id);
    const n = this.node(id);
    if (m === undefined || n.engine.serverState() !== 'Leader') return;
    const last = n.engine.lastLogId();
    for (const [target, s] of m) {
      if (last === null || (s.sent !== null && s.sent.index >= last.index)) continue;
      const prev = s.sent;
      s.sent = last;
      this.#append(id, target, prev, last, (r) => {
        const res = this.#result(r, prev, last);
        if (res.type !== 'matched') m.delete(target);
        this.#progress(id, target, s.inflightId, res);
      });
    }
  }

  /**
   * Delivers queued messages (FIFO) until none is deliverable. Messages from or to a `down` node
   * are held (a partition, not a loss) and delivered once it is back.
   */
  settle(max = 10_000): void {
    for (let i = 0; i < max; i++) {
      const at = this.#queue.findIndex((m) => !this.down.has(m.from) && !this.down.has(m.to));
      if (at < 0) return;
      const [m] = this.#queue.splice(at, 1);
      m!.run();
    }
    throw new Error('driver did not settle');
  }

  /** Starts an election on `id` and settles. */
  elect(id: NodeId): void {
    this.node(id).engine.elect(this.now);
    this.run(id);
    this.settle();
  }

  /** The log ids of a node's log, as `term-index` strings. */
  ids(id: NodeId): string[] {
    return this.node(id).log.map((e) => `${e.logId.term}-${e.logId.index}`);
  }
}
