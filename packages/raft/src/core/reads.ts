/**
 * Linearizable reads: the read point of a leader (read index, or a lease when the policy allows).
 *
 * Owns: one read's rounds (the term it started in, the heartbeat it waits to be acknowledged).
 * Must never: confirm a read for a leader that is transferring leadership or lost its term, count a
 * lease without the clock-drift margin, or send anything itself (it asks the engine for a heartbeat).
 */
import { type LogId, NotLeaderError, sleep, TimeoutError } from '@flotilla/types';
import type { ReadPolicy } from '../api.ts';
import type { Wait } from '../metrics.ts';
import type { Leadership } from './leadership.ts';
import type { CoreParts } from './parts.ts';

/** The read points of one node (see the file comment). */
export class Reads {
  readonly #p: CoreParts;
  readonly #leadership: Leadership;
  readonly #wait: () => Wait;

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
    const { loop, engine, clock, config } = this.#p;
    const leadership = this.#leadership;
    loop.ensureRunning();
    const started = clock.now();
    const state = await loop.call(() => {
      if (!leadership.takesWrites()) throw leadership.forwardError();
      return { term: engine.vote().term, lease: engine.leaseValidUntil() ?? 0 };
    });
    // The leader must have committed an entry of its own term (its blank entry) to know the commit index.
    const committedInTerm = await this.#wait().until((m) => {
      if (m.state !== 'Leader' || m.currentTerm !== state.term)
        throw new NotLeaderError('leadership lost during a read');
      return m.committed !== null && m.committed.term === state.term;
    }, 'the leader to commit an entry of its term');
    const readLogId = committedInTerm.committed;
    if (policy === 'lease' && clock.now() < state.lease) return readLogId;
    // Read index: a quorum must acknowledge a heartbeat sent after the read started.
    const confirmed = (): boolean => {
      const until = engine.leaseValidUntil();
      if (until === null) throw new NotLeaderError('leadership lost during a read');
      return until - config.leaseMs * (1 - config.maxClockDrift) >= started;
    };
    const stillLeader = () => engine.serverState() === 'Leader' && engine.vote().term === state.term;
    await loop.call(() => {
      // A transferring leader stays silent: a heartbeat would keep its followers from electing.
      if (leadership.transferring() !== null) throw leadership.forwardError();
      if (stillLeader()) engine.heartbeat(clock.now());
    });
    const deadline = clock.now() + config.electionTimeoutMaxMs * 2;
    for (;;) {
      const ok = await loop.call(() => {
        if (!stillLeader()) throw new NotLeaderError('leadership lost during a read');
        return confirmed();
      });
      if (ok) return readLogId;
      if (clock.now() > deadline) throw new TimeoutError('no quorum confirmed leadership for the read');
      await sleep(clock, Math.max(1, Math.floor(config.heartbeatIntervalMs / 4)));
    }
  }
}
