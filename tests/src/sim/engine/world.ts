import type { Command, Engine, EngineConfig, ReplicationResult } from '@flotilla/engine';
import {
  type AppendEntriesRequest,
  type AppendEntriesResponse,
  compareLogId,
  type Entry,
  formatLogId,
  formatVote,
  hasErrorCode,
  type LogId,
  type Membership,
  type NodeId,
  type SnapshotMeta,
  type Vote,
  voteEquals,
  voteGt,
} from '@flotilla/types';
import type { Operation, RegisterInput, RegisterOutput } from '../history.ts';
import type { Prng } from '../prng.ts';
import { Checker, Violation } from './checker.ts';
import {
  applyWrite,
  cloneStore,
  emptySm,
  emptyStore,
  entryAt,
  type LogStore,
  lastOf,
  type SmState,
  type StoredSnapshot,
  type Write,
} from './disk.ts';
import { Scheduler } from './scheduler.ts';

/**
 * Virtual ms between two engine ticks of a node (timers fire at this granularity; messages, flushes
 * and faults keep ms resolution). Coarser ticks leave more of a seed's step budget to elections and
 * replication: 25 ms is a quarter of the election timeout's range and half the heartbeat interval.
 */
export const TICK_MS = 25;

/**
 * The `Engine` class the world runs, injected (never imported as a value here), so that a control run
 * and a planted-bug run go through the same code with different engines.
 */
export type EngineClass = typeof Engine;

/** Fault rates and timings of a run. */
export interface NetConfig {
  /** Probability a message is lost. */
  loss: number;
  /** Probability a message is delivered twice. */
  dup: number;
  /** Base one-way delay (ms). */
  delayMs: number;
  /** Extra random delay (ms); reorders unary messages. */
  jitterMs: number;
  /** Probability a message stalls (a network hiccup): it arrives 10–150 ms late, and on a FIFO stream so does everything after it. */
  stall: number;
  /** How long a lost RPC takes to be reported failed. */
  rpcTimeoutMs: number;
  /** Max delay of a storage flush (ms). */
  flushMs: number;
}

/** Counters of injected faults, by kind. */
export interface FaultCounts {
  loss: number;
  dup: number;
  partition: number;
  crash: number;
  membership: number;
  snapshot: number;
  purge: number;
  reorder: number;
  stall: number;
  /** Term-churn phases started (each new leader of the phase is crashed or cut off at once). */
  churn: number;
}

/** A zeroed fault counter. */
export function zeroFaults(): FaultCounts {
  return {
    loss: 0,
    dup: 0,
    partition: 0,
    crash: 0,
    membership: 0,
    snapshot: 0,
    purge: 0,
    reorder: 0,
    stall: 0,
    churn: 0,
  };
}

interface Stream {
  id: number;
  target: NodeId;
  inflightId: number;
  vote: Vote;
  sentUpTo: LogId | null;
  open: boolean;
  lastDeliverAt: number;
}

type ReplyTo =
  | { kind: 'vote'; to: NodeId; inc: number; pre: boolean }
  | { kind: 'append'; to: NodeId; inc: number; onReply: (r: AppendEntriesResponse) => void; fifo?: Stream }
  | { kind: 'snapshot'; to: NodeId; inc: number; onReply: (v: Vote) => void };

/** One simulated node: an engine over a crash-aware store, a register state machine and its streams. */
export class SimNode {
  readonly id: NodeId;
  inc = 0;
  up = true;
  engine!: Engine;
  disk: LogStore = emptyStore();
  mem: LogStore = emptyStore();
  snapshot: StoredSnapshot | null = null;
  sm: SmState = emptySm();
  /** Writes not yet durable, with the term of the vote in force when each was issued. */
  pending: { ioId: number; write: Write; term: number }[] = [];
  flushedIo = 0;
  lastFlushAt = 0;
  parked: { ioId: number; send: () => void }[] = [];
  streams = new Map<NodeId, Stream>();
  received: StoredSnapshot | null = null;
  role = '';
  /** The committed log id the last check saw (to notice a leader's commit advance). */
  seenCommitted: LogId | null = null;
  constructor(id: NodeId) {
    this.id = id;
  }
}

/** The simulated world: nodes, network, virtual clock, checker and client history. */
export class World {
  readonly sched = new Scheduler();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly checker = new Checker();
  readonly faults = zeroFaults();
  readonly trace: string[] = [];
  readonly history: Operation[] = [];
  /** Client ops awaiting their entry's apply on the proposing node. */
  readonly #awaiting = new Map<string, { op: number; node: NodeId; inc: number }>();
  /** Pairs that cannot talk (`a|b`, both orders). */
  readonly cut = new Set<string>();
  #streamSeq = 0;
  readonly #lastAt = new Map<string, number>();
  #nextValue = 1;
  #snapSeq = 0;
  readonly rng: Prng;
  net: NetConfig;
  readonly config: Partial<EngineConfig>;
  /** The engine under test: the package's, or a copy with a bug planted (see `bugs.ts`). */
  readonly #Engine: EngineClass;
  /** Fault hook: runs (inside the step) when a node has just become leader. */
  onElected: ((id: NodeId) => void) | null = null;
  /** Fault hook: runs (inside the step) when a leader's committed log id has just advanced. */
  onLeaderCommit: ((id: NodeId, committed: LogId) => void) | null = null;

  constructor(
    rng: Prng,
    ids: NodeId[],
    net: NetConfig,
    config: Partial<EngineConfig>,
    engineClass: EngineClass,
  ) {
    this.rng = rng;
    this.net = net;
    this.config = config;
    this.#Engine = engineClass;
    for (const id of ids) {
      const n = new SimNode(id);
      this.nodes.set(id, n);
      this.#boot(n);
    }
  }

  /** Appends a line to the trace ring buffer. */
  log(line: string): void {
    this.trace.push(`[${this.sched.now}] ${line}`);
    if (this.trace.length > 400) this.trace.splice(0, this.trace.length - 300);
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  // ---------------------------------------------------------------- life cycle

  #boot(n: SimNode): void {
    n.inc++;
    n.up = true;
    n.mem = cloneStore(n.disk);
    n.pending = [];
    n.flushedIo = 0;
    n.parked = [];
    n.streams.clear();
    n.received = null;
    n.seenCommitted = null;
    n.sm = n.snapshot === null ? emptySm() : { ...n.snapshot.sm };
    n.engine = new this.#Engine({ id: n.id, config: this.config, random: () => this.rng.next() });
    const d = n.disk;
    const memberships = d.entries
      .filter((e) => e.payload.type === 'membership')
      .slice(-2)
      .map((e) => ({ logId: e.logId, membership: (e.payload as { membership: Membership }).membership }));
    n.engine.startup(
      {
        vote: d.vote,
        purged: d.purged,
        keyLogIds: d.entries.map((e) => e.logId),
        committed: d.committed,
        applied: n.sm.applied,
        snapshot: n.snapshot?.meta ?? null,
        memberships,
      },
      this.sched.now,
    );
    this.#drain(n);
    const inc = n.inc;
    const tick = () => {
      if (!n.up || n.inc !== inc) return;
      n.engine.tick(this.sched.now);
      this.#drain(n);
      this.sched.after(TICK_MS, `tick ${n.id}`, tick);
    };
    this.sched.after(this.rng.int(1, TICK_MS), `tick ${n.id}`, tick);
  }

  /** Crashes a node: everything not flushed is lost. */
  crash(id: NodeId): void {
    const n = this.node(id);
    if (!n.up) return;
    n.up = false;
    n.inc++;
    this.faults.crash++;
    this.log(`CRASH ${id} (dropping ${n.pending.length} unflushed writes)`);
  }

  /** Restarts a crashed node from its durable state. */
  restart(id: NodeId): void {
    const n = this.node(id);
    if (n.up) return;
    this.log(
      `RESTART ${id} disk last=${formatLogId(lastOf(n.disk))} vote=${n.disk.vote === null ? '-' : formatVote(n.disk.vote)}`,
    );
    this.#boot(n);
  }

  /**
   * Splits `group` (which holds `id`) from every other node: links inside the group and inside the
   * rest stay as they are; messages already in flight across the cut are dropped on arrival.
   */
  isolate(id: NodeId, group: readonly NodeId[], why: string): void {
    const inside = new Set([id, ...group]);
    for (const a of inside) {
      for (const b of this.nodes.keys()) {
        if (inside.has(b)) continue;
        this.cut.add(`${a}|${b}`);
        this.cut.add(`${b}|${a}`);
      }
    }
    this.faults.partition++;
    this.log(`PARTITION {${[...inside].join(',')}} ${why}`);
  }

  // ---------------------------------------------------------------- network

  #linked(a: NodeId, b: NodeId): boolean {
    return !this.cut.has(`${a}|${b}`);
  }

  /** Sends a message; `onLost` runs (after the RPC timeout) if it is dropped. */
  send(
    from: NodeId,
    to: NodeId,
    what: string,
    deliver: () => void,
    onLost?: () => void,
    fifo?: Stream,
  ): void {
    const lost = () => {
      if (onLost !== undefined) this.sched.after(this.net.rpcTimeoutMs, `timeout ${what}`, onLost);
    };
    if (this.rng.chance(this.net.loss)) {
      this.faults.loss++;
      this.log(`LOSE ${what}`);
      lost();
      return;
    }
    let at = this.sched.now + this.net.delayMs + this.rng.int(0, this.net.jitterMs + 1);
    if (this.rng.chance(this.net.stall)) {
      this.faults.stall++;
      at += this.rng.int(10, 151);
    }
    if (fifo !== undefined) {
      at = Math.max(at, fifo.lastDeliverAt);
      fifo.lastDeliverAt = at;
    } else {
      const link = `${from}>${to}`;
      if (at < (this.#lastAt.get(link) ?? 0)) this.faults.reorder++;
      this.#lastAt.set(link, at);
    }
    const go = () => {
      const dst = this.nodes.get(to);
      if (dst === undefined || !dst.up || !this.#linked(from, to)) {
        lost();
        return;
      }
      deliver();
    };
    this.sched.at(at, what, go);
    if (fifo === undefined && this.rng.chance(this.net.dup)) {
      this.faults.dup++;
      this.sched.at(at + this.rng.int(0, this.net.jitterMs + 1), `dup ${what}`, go);
    }
  }

  // ---------------------------------------------------------------- command execution

  /** Runs every queued command of `n`, then pumps its streams, then checks invariants. */
  #drain(n: SimNode): void {
    for (let round = 0; round < 1000; round++) {
      const cmds = n.engine.takeCommands();
      if (cmds.length === 0) break;
      for (const c of cmds) this.#exec(n, c);
    }
    this.#pump(n);
    this.#checkNode(n);
  }

  #write(n: SimNode, ioId: number, w: Write): void {
    if (w.type === 'append') this.checker.appended(n.id, lastOf(n.mem), w.entries);
    // The term the write was issued in (the engine's own record of it): a truncation's leader's term.
    const term = n.engine.ioMark(ioId).vote.term;
    if (w.type === 'truncate') this.checker.truncating(n.id, n.mem, w.since.index, term);
    applyWrite(n.mem, w);
    n.pending.push({ ioId, write: w, term });
    n.engine.onLocalIo({ type: 'submitted', ioId }, this.sched.now);
    const inc = n.inc;
    const at = Math.max(n.lastFlushAt, this.sched.now + this.rng.int(0, this.net.flushMs + 1));
    n.lastFlushAt = at;
    this.sched.at(at, `flush ${n.id}#${ioId}`, () => {
      if (!n.up || n.inc !== inc) return;
      while (n.pending.length > 0 && n.pending[0]!.ioId <= ioId) {
        const p = n.pending.shift()!;
        if (p.write.type === 'truncate') this.checker.truncating(n.id, n.disk, p.write.since.index, p.term);
        applyWrite(n.disk, p.write);
      }
      n.flushedIo = Math.max(n.flushedIo, ioId);
      n.engine.onLocalIo({ type: 'flushed', ioId }, this.sched.now);
      const ready = n.parked.filter((p) => p.ioId <= n.flushedIo);
      n.parked = n.parked.filter((p) => p.ioId > n.flushedIo);
      for (const p of ready) p.send();
      this.#drain(n);
    });
  }

  #exec(n: SimNode, c: Command): void {
    switch (c.type) {
      case 'saveVote':
        this.#write(n, c.ioId, { type: 'vote', vote: c.vote });
        return;
      case 'appendEntries':
        this.#write(n, c.ioId, { type: 'append', entries: c.entries });
        return;
      case 'truncateLog':
        this.#write(n, c.ioId, { type: 'truncate', since: c.since });
        return;
      case 'purgeLog':
        this.faults.purge++;
        this.#write(n, c.ioId, { type: 'purge', upto: c.upto });
        return;
      case 'saveCommittedAndApply':
        n.mem.committed = c.committed;
        n.disk.committed = c.committed;
        this.#apply(n, c.committed);
        return;
      case 'replicate':
        if (c.payload.type === 'logs')
          this.#sendLogs(n, c.target, c.inflightId, c.payload.prev, c.payload.last);
        else this.#openStream(n, c.target, c.inflightId, c.payload.prev);
        return;
      case 'replicateSnapshot':
        this.#sendSnapshot(n, c.target, c.inflightId);
        return;
      case 'rebuildReplicationStreams': {
        const keep = new Set(c.targets.map((t) => t.id));
        for (const [t, s] of n.streams) {
          if (c.closeOldStreams || !keep.has(t)) {
            s.open = false;
            n.streams.delete(t);
          }
        }
        return;
      }
      case 'sendVote': {
        const from = n.id;
        const inc = n.inc;
        this.send(
          from,
          c.target,
          `vote ${from}->${c.target} ${formatVote(c.request.vote)}${c.request.preVote ? ' pre' : ''}`,
          () => {
            const t = this.node(c.target);
            t.engine.handleVoteRequest(
              c.request,
              { kind: 'vote', to: from, inc, pre: c.request.preVote === true } satisfies ReplyTo,
              this.sched.now,
            );
            this.#drain(t);
          },
        );
        return;
      }
      case 'broadcastHeartbeat':
        for (const t of c.targets) {
          const req: AppendEntriesRequest = {
            vote: c.vote,
            prevLogId: t.matching,
            entries: [],
            leaderCommit: c.committed,
          };
          this.#sendAppend(n, t.id, req, `hb ${n.id}->${t.id}`, (r) => {
            if (r.type === 'success')
              this.#progress(n, t.id, null, { type: 'matched', matching: t.matching, sentAt: c.sentAt });
            else if (r.type === 'higherVote')
              this.#progress(n, t.id, null, { type: 'higherVote', vote: r.vote });
          });
        }
        return;
      case 'sendTransferLeader': {
        const req = c.request;
        this.send(n.id, c.target, `transfer ${n.id}->${c.target}`, () => {
          const t = this.node(c.target);
          t.engine.handleTransferLeader(req, this.sched.now);
          this.#drain(t);
        });
        return;
      }
      case 'respond':
        this.#respond(
          n,
          c.when === null ? 0 : c.when.type === 'ioFlushed' ? c.when.ioId : 0,
          c.reply as ReplyTo,
          c.response,
        );
        return;
      case 'stateMachine':
        if (c.command.type === 'buildSnapshot') {
          const inc = n.inc;
          this.sched.after(this.rng.int(1, 20), `snapshot ${n.id}`, () => {
            if (!n.up || n.inc !== inc) return;
            this.faults.snapshot++;
            const meta: SnapshotMeta = {
              lastLogId: n.sm.applied,
              lastMembership: n.sm.membership,
              snapshotId: `${n.id}-${++this.#snapSeq}`,
            };
            n.snapshot = { meta, sm: { ...n.sm } };
            this.log(`SNAPSHOT ${n.id} at ${formatLogId(meta.lastLogId)}`);
            n.engine.onSnapshotBuilt(meta);
            this.#drain(n);
          });
        } else {
          const r = n.received;
          if (r === null || compareLogId(r.meta.lastLogId, c.command.meta.lastLogId) !== 0)
            throw new Violation(`${n.id}: install of a snapshot never received`);
          n.snapshot = r;
          n.sm = { ...r.sm };
          if (r.meta.lastLogId !== null) this.checker.applied(n.id, r.meta.lastLogId);
        }
        return;
    }
  }

  #respond(
    n: SimNode,
    ioId: number,
    reply: ReplyTo,
    response: Command & { type: 'respond' } extends { response: infer R } ? R : never,
  ): void {
    const from = n.id;
    const send = () => {
      const dest = () => {
        const d = this.node(reply.to);
        if (d.inc !== reply.inc) return false;
        return true;
      };
      switch (response.type) {
        case 'vote':
          // Rule: a vote is granted only once it is durable (else a crash lets the node vote twice).
          if (reply.kind === 'vote' && !reply.pre && response.response.voteGranted) {
            this.checker.grantDurable(from, n.disk.vote, response.response.vote);
          }
          this.send(
            from,
            reply.to,
            `vote-resp ${from}->${reply.to} ${response.response.voteGranted ? 'granted' : 'refused'}`,
            () => {
              if (!dest()) return;
              const d = this.node(reply.to);
              d.engine.handleVoteResponse(from, response.response, this.sched.now);
              this.#drain(d);
            },
          );
          return;
        case 'appendEntries':
          if (reply.kind !== 'append') return;
          this.send(
            from,
            reply.to,
            `append-resp ${from}->${reply.to} ${response.response.type}`,
            () => {
              if (dest()) reply.onReply(response.response);
            },
            undefined,
            reply.fifo,
          );
          return;
        case 'installSnapshot':
          if (reply.kind !== 'snapshot') return;
          this.send(from, reply.to, `snapshot-resp ${from}->${reply.to}`, () => {
            if (dest()) reply.onReply(response.response.vote);
          });
          return;
      }
    };
    if (ioId <= n.flushedIo) send();
    else n.parked.push({ ioId, send });
  }

  #progress(n: SimNode, target: NodeId, inflightId: number | null, result: ReplicationResult): void {
    if (!n.up) return;
    n.engine.onReplicationProgress(target, { inflightId, result }, this.sched.now);
    this.#drain(n);
  }

  #sendAppend(
    n: SimNode,
    target: NodeId,
    req: AppendEntriesRequest,
    what: string,
    onReply: (r: AppendEntriesResponse) => void,
    onTimeout?: () => void,
    fifo?: Stream,
  ): void {
    const inc = n.inc;
    const from = n.id;
    let done = false;
    if (onTimeout !== undefined) {
      // The RPC timeout: no reply in time (lost request or reply, crashed target) fails the request.
      this.sched.after(this.net.rpcTimeoutMs, `timeout ${what}`, () => {
        if (!done) onTimeout();
      });
    }
    this.send(
      from,
      target,
      what,
      () => {
        const t = this.node(target);
        const reply: ReplyTo = {
          kind: 'append',
          to: from,
          inc,
          onReply: (r) => {
            if (done) return;
            done = true;
            if (n.inc === inc) onReply(r);
          },
          ...(fifo !== undefined ? { fifo } : {}),
        };
        t.engine.handleAppendEntries(req, reply, this.sched.now);
        this.#drain(t);
      },
      undefined,
      fifo,
    );
  }

  #readEntries(n: SimNode, prev: LogId | null, last: LogId | null): Entry[] {
    const out: Entry[] = [];
    const start = prev === null ? 0 : prev.index + 1;
    const end = last === null ? -1 : last.index;
    for (let i = start; i <= end; i++) {
      const e = entryAt(n.mem, i);
      if (e === undefined)
        throw new Violation(
          `${n.id}: replication reads missing entry ${i} (purged ${formatLogId(n.mem.purged)})`,
        );
      out.push(e);
    }
    return out;
  }

  #sendLogs(n: SimNode, target: NodeId, inflightId: number, prev: LogId | null, last: LogId | null): void {
    const entries = this.#readEntries(n, prev, last);
    const req: AppendEntriesRequest = {
      vote: n.engine.vote(),
      prevLogId: prev,
      entries,
      leaderCommit: n.engine.committed(),
    };
    const sentAt = this.sched.now;
    const inc = n.inc;
    this.#sendAppend(
      n,
      target,
      req,
      `append ${n.id}->${target} #${inflightId} (${formatLogId(prev)}, ${formatLogId(last)}]`,
      (r) => this.#progress(n, target, inflightId, toResult(r, prev, last, sentAt)),
      () => {
        if (n.inc === inc) this.#progress(n, target, inflightId, { type: 'failed' });
      },
    );
  }

  #openStream(n: SimNode, target: NodeId, inflightId: number, prev: LogId | null): void {
    const old = n.streams.get(target);
    if (old !== undefined) old.open = false;
    const s: Stream = {
      id: ++this.#streamSeq,
      target,
      inflightId,
      vote: n.engine.vote(),
      sentUpTo: prev,
      open: true,
      lastDeliverAt: 0,
    };
    n.streams.set(target, s);
  }

  /** Streams send every readable entry after what they sent, in order, without waiting for replies. */
  #pump(n: SimNode): void {
    if (!n.up) return;
    const max = n.engine.config.maxPayloadEntries;
    for (const s of [...n.streams.values()]) {
      if (!s.open) continue;
      if (n.engine.serverState() !== 'Leader' || !voteEquals(n.engine.vote(), s.vote)) {
        s.open = false;
        n.streams.delete(s.target);
        continue;
      }
      const last = lastOf(n.mem);
      while (s.open && compareLogId(last, s.sentUpTo) > 0) {
        const from = s.sentUpTo;
        const upto = Math.min((from?.index ?? -1) + max, last!.index);
        const to = entryAt(n.mem, upto)!.logId;
        const entries = this.#readEntries(n, from, to);
        s.sentUpTo = to;
        const req: AppendEntriesRequest = {
          vote: s.vote,
          prevLogId: from,
          entries,
          leaderCommit: n.engine.committed(),
        };
        const sentAt = this.sched.now;
        const inc = n.inc;
        const fail = () => {
          if (!s.open) return;
          s.open = false;
          if (n.streams.get(s.target) === s) n.streams.delete(s.target);
          if (n.inc === inc) this.#progress(n, s.target, s.inflightId, { type: 'failed' });
        };
        this.#sendAppend(
          n,
          s.target,
          req,
          `stream ${n.id}->${s.target} #${s.inflightId} (${formatLogId(from)}, ${formatLogId(to)}]`,
          (r) => {
            if (!s.open) return;
            const res = toResult(r, from, to, sentAt);
            if (res.type !== 'matched') {
              s.open = false;
              if (n.streams.get(s.target) === s) n.streams.delete(s.target);
            }
            this.#progress(n, s.target, s.inflightId, res);
          },
          fail,
          s,
        );
      }
    }
  }

  #sendSnapshot(n: SimNode, target: NodeId, inflightId: number): void {
    const snap = n.snapshot;
    const inc = n.inc;
    if (snap === null) throw new Violation(`${n.id}: asked to send a snapshot it does not have`);
    const vote = n.engine.vote();
    const sentAt = this.sched.now;
    let done = false;
    this.sched.after(this.net.rpcTimeoutMs * 2, `timeout install ${n.id}->${target}`, () => {
      if (!done && n.inc === inc) {
        done = true;
        this.#progress(n, target, inflightId, { type: 'failed' });
      }
    });
    this.send(
      n.id,
      target,
      `install ${n.id}->${target} #${inflightId} at ${formatLogId(snap.meta.lastLogId)}`,
      () => {
        const t = this.node(target);
        t.received = snap;
        const reply: ReplyTo = {
          kind: 'snapshot',
          to: n.id,
          inc,
          onReply: (v) => {
            if (n.inc !== inc || done) return;
            done = true;
            const res: ReplicationResult =
              voteGt(v, vote) && !voteEquals(v, vote)
                ? { type: 'higherVote', vote: v }
                : { type: 'snapshotInstalled', lastLogId: snap.meta.lastLogId, sentAt };
            this.#progress(n, target, inflightId, res);
          },
        };
        t.engine.handleInstallSnapshot({ vote, meta: snap.meta }, reply, this.sched.now);
        this.#drain(t);
      },
    );
  }

  // ---------------------------------------------------------------- state machine and clients

  #apply(n: SimNode, upto: LogId): void {
    const from = (n.sm.applied?.index ?? -1) + 1;
    for (let i = from; i <= upto.index; i++) {
      const e = entryAt(n.mem, i);
      if (e === undefined) throw new Violation(`${n.id}: applying missing entry ${i}`);
      this.checker.applied(n.id, e.logId);
      let out: RegisterOutput = { ok: true };
      if (e.payload.type === 'normal') {
        const v = decode(e.payload.data);
        if (v.op === 'w') n.sm.value = v.value;
        else out = { ok: true, value: n.sm.value };
      } else if (e.payload.type === 'membership')
        n.sm.membership = { logId: e.logId, membership: e.payload.membership };
      n.sm.applied = e.logId;
      const k = `${e.logId.term}-${e.logId.index}`;
      const w = this.#awaiting.get(k);
      if (w !== undefined && w.node === n.id && w.inc === n.inc) {
        this.#awaiting.delete(k);
        const op = this.history[w.op]!;
        this.history[w.op] = { ...op, output: out, return: this.sched.now };
      }
    }
    n.engine.onApplied(upto);
  }

  /** A client sends a write (or a read through the log) to node `id` if it is leader. */
  client(id: NodeId, clientId: number): void {
    const n = this.node(id);
    if (!n.up || n.engine.serverState() !== 'Leader') return;
    const read = this.rng.chance(0.3);
    const value = this.#nextValue++;
    const input: RegisterInput = read ? { kind: 'read' } : { kind: 'write', value };
    try {
      const [logId] = n.engine.leaderAppend(
        [{ type: 'normal', data: encode(read ? { op: 'r' } : { op: 'w', value }) }],
        this.sched.now,
      );
      this.history.push({
        clientId,
        input,
        output: { ok: true },
        call: this.sched.now,
        return: Number.POSITIVE_INFINITY,
      });
      this.#awaiting.set(`${logId!.term}-${logId!.index}`, {
        op: this.history.length - 1,
        node: id,
        inc: n.inc,
      });
      this.log(`CLIENT ${clientId} ${read ? 'read' : `write ${value}`} at ${id} -> ${formatLogId(logId!)}`);
    } catch (err) {
      if (!hasErrorCode(err)) throw err;
    }
    this.#drain(n);
  }

  /** Runs a leader-side action (membership change) and drains. */
  onLeader(id: NodeId, f: (e: Engine) => void): void {
    const n = this.node(id);
    if (!n.up) return;
    f(n.engine);
    this.#drain(n);
  }

  // ---------------------------------------------------------------- checks

  #checkNode(n: SimNode): void {
    if (!n.up) return;
    const e = n.engine;
    const role = `${e.serverState()} ${formatVote(e.vote())}`;
    if (role !== n.role) {
      n.role = role;
      this.log(`ROLE ${n.id} ${role} last=${formatLogId(e.lastLogId())}`);
      if (e.serverState() === 'Leader') this.onElected?.(n.id);
    }
    e.checkInvariants();
    this.checker.monotonic(n.id, n.inc, n.disk.vote, e.vote(), e.committed(), e.applied());
    if (e.serverState() === 'Leader') this.checker.leader(e.vote().term, n.id, n.mem);
    const committed = e.committed();
    if (committed !== null && compareLogId(committed, this.checker.maxCommitted) > 0) {
      const durable = new Map<NodeId, LogStore>();
      for (const [id, m] of this.nodes) durable.set(id, m.disk);
      const leader =
        e.serverState() === 'Leader'
          ? { membership: e.membership().effective.membership, durable }
          : undefined;
      this.checker.committedOn(n.id, e.vote().term, n.mem, committed, leader);
    } else if (committed !== null) {
      this.checker.committedOn(n.id, e.vote().term, n.mem, committed);
    }
    const advanced = compareLogId(committed, n.seenCommitted) > 0;
    n.seenCommitted = committed;
    if (advanced && committed !== null && e.serverState() === 'Leader')
      this.onLeaderCommit?.(n.id, committed);
  }
}

function toResult(
  r: AppendEntriesResponse,
  prev: LogId | null,
  last: LogId | null,
  sentAt: number,
): ReplicationResult {
  switch (r.type) {
    case 'success':
      return { type: 'matched', matching: last, sentAt };
    case 'partialSuccess':
      return { type: 'matched', matching: r.matching, sentAt };
    case 'conflict':
      return prev === null ? { type: 'failed' } : { type: 'conflict', prevLogId: prev, sentAt };
    case 'higherVote':
      return { type: 'higherVote', vote: r.vote };
  }
}

type Op = { op: 'w'; value: number } | { op: 'r' };
function encode(o: Op): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(o));
}
function decode(b: Uint8Array): Op {
  return JSON.parse(new TextDecoder().decode(b)) as Op;
}
