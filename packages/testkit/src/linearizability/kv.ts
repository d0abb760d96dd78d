/**
 * The sequential model of a string key-value map (get, put, append), partitioned per key, with an
 * incrementally hashed state so long values are never rescanned. A model only: it must never be
 * stepped on a history of several keys without its `partition`.
 */
import type { History, Model, Operation, Unknown } from './types.ts';
import { UNKNOWN } from './types.ts';

/** An operation on a key-value map of strings. */
export type KvInput =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'append'; readonly key: string; readonly value: string };

/** What a key-value operation answered: the value read (gets only). */
export interface KvOutput {
  /** The value a get returned; `''` for a missing key. */
  readonly value?: string;
}

/**
 * The state of one key: its value and a polynomial hash of it, extended incrementally on append so
 * that hashing never rescans a long value.
 */
export interface KvState {
  /** The key's value (`''` when missing). */
  readonly value: string;
  /** The 32-bit polynomial hash of `value` (see {@link kvModel}). */
  readonly hash: number;
}

/** Extends the polynomial hash `h` of some string with the characters of `s`. */
function extendHash(h: number, s: string): number {
  let x = h;
  for (let i = 0; i < s.length; i++) x = (Math.imul(x, 0x01000193) + s.charCodeAt(i)) | 0;
  return x;
}

const EMPTY: KvState = { value: '', hash: 0 };

/**
 * The sequential specification of a map from string keys to string values, with get, put and
 * append; a missing key reads as `''`.
 *
 * Keys are independent, so `partition` splits a history per key and the state is the value (and its
 * hash) of the one key of the part being checked. Checking an unpartitioned multi-key history with `step`
 * directly is not meaningful; {@link checkLinearizability} always partitions first.
 *
 * @returns the model, for {@link checkLinearizability}.
 */
export function kvModel(): Model<KvState, KvInput, KvOutput> {
  return {
    init: () => EMPTY,
    step(state, input, output: KvOutput | Unknown) {
      switch (input.kind) {
        case 'get':
          return [output === UNKNOWN || (output.value ?? '') === state.value, state];
        case 'put':
          return [true, { value: input.value, hash: extendHash(0, input.value) }];
        case 'append':
          return [true, { value: state.value + input.value, hash: extendHash(state.hash, input.value) }];
      }
    },
    equal: (a, b) => a === b || (a.hash === b.hash && a.value === b.value),
    hash: (s) => s.hash,
    partition(history: History<KvInput, KvOutput>) {
      const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
      for (const op of history) {
        let part = byKey.get(op.input.key);
        if (part === undefined) {
          part = [];
          byKey.set(op.input.key, part);
        }
        part.push(op);
      }
      return [...byKey.values()];
    },
    describePartition: (part) => `key ${JSON.stringify(part[0]?.input.key ?? '')}`,
    describe(input, output) {
      const key = JSON.stringify(input.key);
      switch (input.kind) {
        case 'get':
          return `get(${key}) ${output === UNKNOWN ? '?' : `→ ${JSON.stringify(output.value ?? '')}`}`;
        case 'put':
          return `put(${key}, ${JSON.stringify(input.value)})${output === UNKNOWN ? ' ?' : ''}`;
        case 'append':
          return `append(${key}, ${JSON.stringify(input.value)})${output === UNKNOWN ? ' ?' : ''}`;
      }
    },
    describeState: (s) => JSON.stringify(s.value),
  };
}
