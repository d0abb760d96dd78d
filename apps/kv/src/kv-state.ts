import { InvalidRequestError } from '@flotilla/types';

/**
 * A write to the key-value store, in the JSON shape of openraft's `raft-kv-memstore` example
 * (`{"Set":{"key":"foo","value":"bar"}}`), plus `Delete` and compare-and-set `Cas`.
 */
export type KvRequest =
  /** Sets `key` to `value`. */
  | { Set: { key: string; value: string } }
  /** Removes `key` (a no-op when absent). */
  | { Delete: { key: string } }
  /**
   * Sets `key` to `value` only if its current value is `expected` (`null`: only if absent).
   */
  | { Cas: { key: string; expected: string | null; value: string } };

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
    throw new InvalidRequestError('$', 'expected exactly one of "Set", "Delete" or "Cas"');
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
    default:
      throw new InvalidRequestError('$', `unknown request "${kind}": expected "Set", "Delete" or "Cas"`);
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

/**
 * The replicated data: an ordered-by-insertion map of string keys to string values, and the rules
 * that turn a {@link KvRequest} into a {@link KvResponse}. Deterministic: the same requests in the
 * same order give the same state on every node.
 */
export class KvState {
  readonly #data: Map<string, string>;

  /** A state holding `entries` (e.g. restored from a snapshot). */
  constructor(entries: Iterable<readonly [string, string]> = []) {
    this.#data = new Map(entries);
  }

  /** Applies one write and returns its response. */
  apply(req: KvRequest): KvResponse {
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

  /** A copy of every entry, for a snapshot. */
  entries(): [string, string][] {
    return [...this.#data];
  }
}
