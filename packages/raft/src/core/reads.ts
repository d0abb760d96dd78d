/**
 * Linearizable reads: the read point of a leader (read index, or a lease when the policy allows).
 *
 * Owns: the reads waiting for a quorum to confirm the leadership, and the heartbeat round they
 * share: at most one round in flight; every read that started before it was sent is confirmed by
 * its acknowledgements (checked after each loop turn, never by a timer), the others by the next
 * round, sent once this one is confirmed. Must never: confirm a read for a leader that is
 * transferring leadership or lost its term, confirm it with an acknowledgement of a message sent
 * before the read started, count a lease without the clock-drift margin, or send anything itself
 * (it asks the engine for a heartbeat).
 */
import { type LogId, NotLeaderError, TimeoutError } from '@flotilla/types';
import type { ReadPolicy } from '../api.ts';
import type { Wait } from '../metrics.ts';
import type { Leadership } from './leadership.ts';
import type { CoreParts } from './parts.ts';

/** A read waiting for a quorum to acknowledge a message sent after it started. */
interface WaitingRead {
  /** When the read started: the acknowledged send time must not be earlier. */
  started: number;
  /** The leader term the read started in. */
  term: number;
  /** Past this time the read fails with `Timeout`. */
  deadline: number;
  readLogId: LogId | null;
  resolve(readLogId: LogId | null): void;
  reject(err: Error): void;
}

/** The read points of one node (see the file comment). */
export class Reads {
  readonly #p: CoreParts;
  readonly #leadership: Leadership;
  readonly #wait: () => Wait;
  /** Waiting reads in the order they registered (their start times nearly ascend). */
  #waiting: WaitingRead[] = [];
  /** Index of the first read still waiting in `#waiting` (a queue without per-read shifting). */
  #head = 0;
  /** Send time of the last heartbeat round asked for reads, `null` before the first. */
  #roundAt: number | null = null;
  /** The term that round was sent in. */
  #roundTerm = -1;

  constructor(parts: CoreParts, leadership: Leadership, wait: () => Wait) {
    this.#p = parts;
    this.#leadership = leadership;
    this.#wait = wait;
  }

  /**
   * The log id a linearizable read must see applied: the leader's commit index once it committed an
   * entry of its term, confirmed by a valid lease (`policy: 'lease'`) or by a quorum acknowledging a
   * heartbeat sent after the read started.
   */
  async readPoint(policy: ReadPolicy): Promise<LogId | null> {
    const { loop, engine, clock } = this.#p;
    const leadership = this.#leadership;
    loop.ensureRunning();
    const started = clock.now();
    const state = await loop.call(() => {
      if (!leadership.takesWrites()) throw leadership.forwardError();
      const term = engine.vote().term;
      const committed = engine.committed();
      return {
        term,
        lease: engine.leaseValidUntil() ?? 0,
        committed: committed !== null && committed.term === term ? committed : null,
      };
    });
    let readLogId = state.committed;
    if (readLogId === null) {
      // The leader must have committed an entry of its own term (its blank entry) to know the commit index.
      const m = await this.#wait().until((m) => {
        if (m.state !== 'Leader' || m.currentTerm !== state.term)
          throw new NotLeaderError('leadership lost during a read');
        return m.committed !== null && m.committed.term === state.term;
      }, 'the leader to commit an entry of its term');
      readLogId = m.committed;
    }
    if (policy === 'lease' && clock.now() < state.lease) return readLogId;
    // Read index: a quorum must acknowledge a heartbeat sent after the read started.
    // Settles at a stop too: `stop` fails the waiting reads.
    return await loop.call(() => this.#register(started, state.term, readLogId));
  }

  /** Inside the loop: a read joins the waiting ones (and a round is sent if none is in flight). */
  #register(started: number, term: number, readLogId: LogId | null): Promise<LogId | null> {
    // A transferring leader stays silent: a heartbeat would keep its followers from electing.
    if (this.#leadership.transferring() !== null) throw this.#leadership.forwardError();
    if (!this.#leads(term)) throw new NotLeaderError('leadership lost during a read');
    if (this.#confirmedSince(started)) return Promise.resolve(readLogId);
    const deadline = started + this.#p.config.electionTimeoutMaxMs * 2;
    return new Promise((resolve, reject) => {
      this.#waiting.push({ started, term, deadline, readLogId, resolve, reject });
      this.#sendRoundIfIdle();
    });
  }

  /**
   * After every loop turn: confirms the reads a quorum's acknowledgements now cover, fails them
   * all if the leadership is lost or being transferred, fails the overdue ones, and sends the next
   * round for the rest. Costs nothing when no read waits.
   */
  check(): void {
    if (this.#head === this.#waiting.length) return;
    const first = this.#waiting[this.#head] as WaitingRead;
    if (this.#leadership.transferring() !== null || !this.#leads(first.term)) {
      const err =
        this.#leadership.transferring() !== null
          ? this.#leadership.forwardError()
          : new NotLeaderError('leadership lost during a read');
      this.#failAll(err);
      return;
    }
    const now = this.#p.clock.now();
    while (this.#head < this.#waiting.length) {
      const r = this.#waiting[this.#head] as WaitingRead;
      if (this.#confirmedSince(r.started)) r.resolve(r.readLogId);
      else if (now > r.deadline) r.reject(new TimeoutError('no quorum confirmed leadership for the read'));
      else break;
      this.#head++;
    }
    this.#compact();
    this.#sendRoundIfIdle();
  }

  /** At a stop: every waiting read fails with `err`. */
  stop(err: Error): void {
    this.#failAll(err);
  }

  /** Fails every waiting read (a stop, or the leadership lost). */
  #failAll(err: Error): void {
    const waiting = this.#waiting.slice(this.#head);
    this.#waiting = [];
    this.#head = 0;
    for (const r of waiting) r.reject(err);
  }

  #compact(): void {
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Sends a heartbeat round unless reads wait on one in flight (sent, not yet confirmed). */
  #sendRoundIfIdle(): void {
    if (this.#head === this.#waiting.length) return;
    const { engine, clock } = this.#p;
    const term = engine.vote().term;
    if (this.#roundAt !== null && this.#roundTerm === term && !this.#confirmedSince(this.#roundAt)) return;
    const now = clock.now();
    this.#roundAt = now;
    this.#roundTerm = term;
    engine.heartbeat(now);
  }

  /** Whether this node still leads in `term`. */
  #leads(term: number): boolean {
    const engine = this.#p.engine;
    return engine.serverState() === 'Leader' && engine.vote().term === term;
  }

  /**
   * Whether a quorum acknowledged a message sent at or after `t`. The engine's lease is that send
   * time plus `leaseMs × (1 − maxClockDrift)`; adding the same amount to `t` compares without the
   * rounding a subtraction would bring.
   */
  #confirmedSince(t: number): boolean {
    const until = this.#p.engine.leaseValidUntil();
    if (until === null) return false;
    const { leaseMs, maxClockDrift } = this.#p.config;
    return until >= t + leaseMs * (1 - maxClockDrift);
  }
}
