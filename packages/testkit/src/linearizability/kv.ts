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
 * The sequential specification of a map from string keys to string values, with get, put and
 * append; a missing key reads as `''`.
 *
 * Keys are independent, so `partition` splits a history per key and the state is the value of the
 * one key of the part being checked. Checking an unpartitioned multi-key history with `step`
 * directly is not meaningful; {@link checkLinearizability} always partitions first.
 *
 * @returns the model, for {@link checkLinearizability}.
 */
export function kvModel(): Model<string, KvInput, KvOutput> {
  return {
    init: () => '',
    step(state, input, output: KvOutput | Unknown) {
      switch (input.kind) {
        case 'get':
          return [output === UNKNOWN || (output.value ?? '') === state, state];
        case 'put':
          return [true, input.value];
        case 'append':
          return [true, state + input.value];
      }
    },
    equal: (a, b) => a === b,
    // Cheap and consistent with equality: values in one part mostly differ in length or their tail.
    hash(s) {
      let h = Math.imul(s.length, 0x9e3779b1);
      for (let i = Math.max(0, s.length - 8); i < s.length; i++)
        h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
      return h >>> 0;
    },
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
    describeState: (s) => JSON.stringify(s),
  };
}
