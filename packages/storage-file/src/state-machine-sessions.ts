/**
 * The client-session table of `fileStateMachine`: exactly-once application of writes carrying
 * `(clientId, sequence)` (Raft thesis §6.3), with the rules of `@flotilla/raft`'s `ClientSessions`
 * and `withClientSessions` (this package cannot depend on the runtime). Owns the table only; must
 * never touch files or the application state.
 */

/** A session row as snapshots carry it: `[clientId, last applied sequence, its response]`. */
export type SessionRow<R> = [clientId: string, sequence: number, response: R];

/** What the table says of one write. */
export type SessionVerdict<R> =
  /** Apply it, then `record` its response. */
  | { duplicate: false }
  /** Do not apply it again; answer `response` (`undefined`: an older write whose response is gone). */
  | { duplicate: true; response: R | undefined };

/** Default bound of the table: the least recently applied session is forgotten beyond it. */
export const DEFAULT_MAX_SESSIONS = 100_000;

/**
 * The last applied sequence and its response, per client, in least-recently-applied order (a
 * `Map` keeps insertion order: a client's row moves to the end each time it applies a write).
 */
export class SessionTable<R> {
  readonly #rows = new Map<string, { sequence: number; response: R }>();
  readonly #max: number;

  constructor(maxSessions: number, rows: readonly SessionRow<R>[] = []) {
    this.#max = maxSessions;
    for (const [id, sequence, response] of rows) this.#rows.set(id, { sequence, response });
  }

  /** Whether `(clientId, sequence)` was applied already, and if so what to answer. */
  check(clientId: string, sequence: number): SessionVerdict<R> {
    const s = this.#rows.get(clientId);
    if (s === undefined || sequence > s.sequence) return { duplicate: false };
    return { duplicate: true, response: sequence === s.sequence ? s.response : undefined };
  }

  /** Records the response of a write just applied; forgets the oldest session beyond the bound. */
  record(clientId: string, sequence: number, response: R): void {
    this.#rows.delete(clientId);
    this.#rows.set(clientId, { sequence, response });
    if (this.#rows.size > this.#max) {
      const oldest = this.#rows.keys().next().value;
      if (oldest !== undefined) this.#rows.delete(oldest);
    }
  }

  /** The last applied sequence of a client, if remembered. */
  lastSequence(clientId: string): number | undefined {
    return this.#rows.get(clientId)?.sequence;
  }

  /** How many sessions are remembered. */
  get size(): number {
    return this.#rows.size;
  }

  /** The rows, oldest first (the order a restored table keeps). */
  rows(): SessionRow<R>[] {
    return [...this.#rows].map(([id, s]) => [id, s.sequence, s.response]);
  }
}
