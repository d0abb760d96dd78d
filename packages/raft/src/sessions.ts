/**
 * Exactly-once application of retried client writes (Raft thesis §6.3). A state machine keeps one
 * `ClientSessions` in its state: each write carries `(clientId, sequence)`; a write whose sequence is
 * not above the last one applied for its client is not applied again, and gets the response the first
 * application produced.
 *
 * @example
 * ```ts
 * const sessions = new ClientSessions<Reply>();
 * function apply(state, cmd) {
 *   return sessions.apply(cmd.clientId, cmd.sequence, () => execute(state, cmd));
 * }
 * ```
 */
export class ClientSessions<R> {
  private readonly sessions = new Map<string, { sequence: number; response: R }>();
  private readonly maxSessions: number;

  /** `maxSessions` bounds memory: the least recently used session is forgotten beyond it. */
  constructor(opts: { maxSessions?: number } = {}) {
    this.maxSessions = opts.maxSessions ?? 100_000;
  }

  /**
   * Runs `execute` unless `(clientId, sequence)` was already applied; returns the response either way.
   * A sequence below the last applied one that is no longer remembered returns `undefined` with
   * `duplicate: true` (the client retried something very old; its first response is gone).
   */
  apply(
    clientId: string,
    sequence: number,
    execute: () => R,
  ): { response: R | undefined; duplicate: boolean } {
    const s = this.sessions.get(clientId);
    if (s !== undefined && sequence <= s.sequence) {
      return { response: sequence === s.sequence ? s.response : undefined, duplicate: true };
    }
    const response = execute();
    this.sessions.delete(clientId);
    this.sessions.set(clientId, { sequence, response });
    if (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    return { response, duplicate: false };
  }

  /** The last applied sequence of a client, if remembered. */
  lastSequence(clientId: string): number | undefined {
    return this.sessions.get(clientId)?.sequence;
  }

  /** Plain data for a snapshot. */
  toJSON(): [string, number, R][] {
    return [...this.sessions].map(([id, s]) => [id, s.sequence, s.response]);
  }

  /** Restores from `toJSON()` output (e.g. when a snapshot is installed). */
  static fromJSON<R>(rows: [string, number, R][], opts: { maxSessions?: number } = {}): ClientSessions<R> {
    const out = new ClientSessions<R>(opts);
    for (const [id, sequence, response] of rows) out.sessions.set(id, { sequence, response });
    return out;
  }
}
