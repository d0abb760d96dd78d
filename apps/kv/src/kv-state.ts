import { ClientSessions } from '@flotilla/raft';
import { InvalidRequestError } from '@flotilla/types';

/**
 * A client session of a write (exactly-once application, Raft thesis §6.3): a client numbers its
 * writes `1, 2, 3, …` under its own `client_id`; a write retried with the same pair is applied at
 * most once, and the retry gets the first application's response.
 */
export interface KvSession {
  /** The client's id (1–256 characters), unique per client. */
  client_id: string;
  /** The write's number in the session: starts at 1, increases. */
  sequence: number;
}

/**
 * A write to the key-value store, in the JSON shape of openraft's `raft-kv-memstore` example
 * (`{"Set":{"key":"foo","value":"bar"}}`), plus `Delete`, compare-and-set `Cas` and the
 * non-idempotent `Append`, optionally under a client session (carried in the entry's data, so it is
 * replicated, stored and snapshotted with it).
 */
export type KvRequest = KvOperation & { session?: KvSession };

/** The operation of a {@link KvRequest}. */
export type KvOperation =
  /** Sets `key` to `value`. */
  | { Set: { key: string; value: string } }
  /** Removes `key` (a no-op when absent). */
  | { Delete: { key: string } }
  /**
   * Sets `key` to `value` only if its current value is `expected` (`null`: only if absent).
   */
  | { Cas: { key: string; expected: string | null; value: string } }
  /** Appends `value` to the key's value (an absent key counts as `""`): applying it twice shows. */
  | { Append: { key: string; value: string } };

/**
 * Why a write under a session was not applied: `SessionExpired` — the table has no session for this
 * `client_id` and the sequence is not 1 (the session was evicted, or never opened); `StaleSequence` —
 * the sequence is below the session's last one, whose response is the only one kept.
 */
export type KvSessionError = 'SessionExpired' | 'StaleSequence';

/**
 * What the state machine answers to a write, serialized as openraft's `Response {value}` with
 * `applied` added for CAS.
 * - `Set`: `value` is the value written; `applied` is `true`.
 * - `Delete`: `value` is the value removed (`null` when the key was absent); `applied` is whether a
 *   key was removed.
 * - `Cas`: `applied` is whether the swap happened; `value` is the key's value afterwards (the new
 *   value when applied, the current one otherwise, so a client can retry).
 */
export interface KvResponse {
  /** See the type's description. */
  value: string | null;
  /** Whether the write changed the store (always `true` for `Set`). */
  applied: boolean;
  /** Set instead of applying a write under a session that cannot be applied safely. */
  sessionError?: KvSessionError;
}

/** Longest `client_id` accepted, in UTF-16 code units. */
export const MAX_CLIENT_ID_LENGTH = 256;

/**
 * Checks the optional session fields of a `/write` body (`client_id` and `sequence`, both or
 * neither) and returns the session. Throws `InvalidRequestError` naming the offending field.
 */
export function parseKvSession(clientId: unknown, sequence: unknown): KvSession | undefined {
  if (clientId === undefined && sequence === undefined) return undefined;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw new InvalidRequestError(
      '$.client_id',
      `expected a string of 1..${MAX_CLIENT_ID_LENGTH} characters (with "sequence")`,
    );
  }
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1) {
    throw new InvalidRequestError('$.sequence', 'expected an integer >= 1 (with "client_id")');
  }
  return { client_id: clientId, sequence };
}

/** Longest key accepted, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 4096;

/**
 * Checks that `input` (parsed JSON) is a {@link KvRequest} and returns a clean copy holding only the
 * known fields. Throws `InvalidRequestError` (code `INVALID_REQUEST`) naming the offending path.
 */
export function parseKvRequest(input: unknown): KvRequest {
  if (!isPlainObject(input)) throw new InvalidRequestError('$', 'expected an object such as {"Set":{...}}');
  const keys = Object.keys(input);
  if (keys.length !== 1) {
    throw new InvalidRequestError('$', 'expected exactly one of "Set", "Delete", "Cas" or "Append"');
  }
  const kind = keys[0] as string;
  const body = input[kind];
  if (!isPlainObject(body)) throw new InvalidRequestError(`$.${kind}`, 'expected an object');
  switch (kind) {
    case 'Set':
      return { Set: { key: keyAt(body, kind), value: stringAt(body, kind, 'value') } };
    case 'Delete':
      return { Delete: { key: keyAt(body, kind) } };
    case 'Cas': {
      const expected = body.expected;
      if (expected !== null && typeof expected !== 'string') {
        throw new InvalidRequestError('$.Cas.expected', 'expected a string or null');
      }
      return { Cas: { key: keyAt(body, kind), expected, value: stringAt(body, kind, 'value') } };
    }
    case 'Append':
      return { Append: { key: keyAt(body, kind), value: stringAt(body, kind, 'value') } };
    default:
      throw new InvalidRequestError(
        '$',
        `unknown request "${kind}": expected "Set", "Delete", "Cas" or "Append"`,
      );
  }
}

function keyAt(body: Record<string, unknown>, kind: string): string {
  const key = stringAt(body, kind, 'key');
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidRequestError(`$.${kind}.key`, `longer than ${MAX_KEY_LENGTH} characters`);
  }
  return key;
}

function stringAt(body: Record<string, unknown>, kind: string, field: string): string {
  const v = body[field];
  if (typeof v !== 'string') throw new InvalidRequestError(`$.${kind}.${field}`, 'expected a string');
  return v;
}

/** Whether `v` is a non-null, non-array object. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Default bound of the client sessions table (see {@link KvStateOptions.maxSessions}). */
export const DEFAULT_MAX_SESSIONS = 100_000;

/** A client sessions table row: `[client_id, last sequence, its response]`. */
export type KvSessionRow = [string, number, KvResponse];

/** Options of {@link KvState}. */
export interface KvStateOptions {
  /** The client sessions to start with (e.g. restored from a snapshot). */
  sessions?: readonly KvSessionRow[];
  /**
   * Most client sessions remembered; beyond it the least recently used one is evicted (its client
   * then gets `SessionExpired`). Part of the replicated rules: every node must use the same value.
   * Default {@link DEFAULT_MAX_SESSIONS}.
   */
  maxSessions?: number;
}

/**
 * The replicated data: an ordered-by-insertion map of string keys to string values and the client
 * sessions table, and the rules that turn a {@link KvRequest} into a {@link KvResponse}.
 * Deterministic: the same requests in the same order give the same state on every node. Owns the
 * rules only; durability (snapshots, applied log id, membership) is `fileStateMachine`'s.
 */
export class KvState {
  readonly #data: Map<string, string>;
  readonly #sessions: ClientSessions<KvResponse>;

  /** A state holding `entries` and `opts.sessions` (e.g. restored from a snapshot). */
  constructor(entries: Iterable<readonly [string, string]> = [], opts: KvStateOptions = {}) {
    this.#data = new Map(entries);
    this.#sessions = ClientSessions.fromJSON([...(opts.sessions ?? [])], {
      maxSessions: opts.maxSessions ?? DEFAULT_MAX_SESSIONS,
    });
  }

  /**
   * Applies one write and returns its response, at most once per `(client_id, sequence)` when it
   * carries a session: a duplicate answers the first application's response; a session the table
   * does not know, with a sequence above 1, is refused as `SessionExpired` (it was evicted, or
   * never opened: applying it could apply a retried write twice); a sequence below the session's
   * last is `StaleSequence`.
   */
  apply(req: KvRequest): KvResponse {
    const { session, ...op } = req;
    if (session === undefined) return this.#applyOp(op as KvOperation);
    const refused = (sessionError: KvSessionError): KvResponse => ({
      value: null,
      applied: false,
      sessionError,
    });
    const last = this.#sessions.lastSequence(session.client_id);
    if (last === undefined && session.sequence > 1) return refused('SessionExpired');
    const { response } = this.#sessions.apply(session.client_id, session.sequence, () =>
      this.#applyOp(op as KvOperation),
    );
    return response ?? refused('StaleSequence');
  }

  #applyOp(req: KvOperation): KvResponse {
    if ('Set' in req) {
      this.#data.set(req.Set.key, req.Set.value);
      return { value: req.Set.value, applied: true };
    }
    if ('Delete' in req) {
      const prev = this.#data.get(req.Delete.key);
      if (prev === undefined) return { value: null, applied: false };
      this.#data.delete(req.Delete.key);
      return { value: prev, applied: true };
    }
    if ('Append' in req) {
      const next = (this.#data.get(req.Append.key) ?? '') + req.Append.value;
      this.#data.set(req.Append.key, next);
      return { value: next, applied: true };
    }
    const { key, expected, value } = req.Cas;
    const current = this.#data.get(key) ?? null;
    if (current !== expected) return { value: current, applied: false };
    this.#data.set(key, value);
    return { value, applied: true };
  }

  /** The value of `key`, or `undefined`. */
  get(key: string): string | undefined {
    return this.#data.get(key);
  }

  /** Number of keys. */
  get size(): number {
    return this.#data.size;
  }

  /** The last applied sequence of a client session, if the table remembers it. */
  lastSequence(clientId: string): number | undefined {
    return this.#sessions.lastSequence(clientId);
  }

  /** A copy of every entry, for a snapshot. */
  entries(): [string, string][] {
    return [...this.#data];
  }

  /** A copy of the client sessions table, least recently used first, for a snapshot. */
  sessions(): KvSessionRow[] {
    return this.#sessions.toJSON();
  }
}
