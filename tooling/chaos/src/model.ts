/**
 * The sequential specification of flotilla-kv's string map as the harness uses it: get, set,
 * compare-and-set and append per key, a missing key being `null`. It is a `Model` of `@flotilla/testkit`'s
 * linearizability checker (whose own `kvModel` has get/put/append but no compare-and-set).
 */
import { type History, type Model, type Operation, UNKNOWN, type Unknown } from '@flotilla/testkit';

/** An operation on one key. */
export type ChaosInput =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'set'; readonly key: string; readonly value: string }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string }
  | { readonly kind: 'append'; readonly key: string; readonly value: string };

/** What an operation answered. */
export interface ChaosOutput {
  /** get: the value read (`null`: absent). cas, append: the key's value afterwards. */
  readonly value?: string | null;
  /** cas: whether the swap happened. */
  readonly applied?: boolean;
}

/** The value of one key (`null`: absent). */
export type ChaosState = string | null;

/**
 * The model: `get` must return the current value; `set` always succeeds; `cas` swaps iff the
 * current value equals `expected` and then reports `applied: true`, otherwise it reports
 * `applied: false` with the current value; `append` concatenates (absent = `""`) and reports the
 * value afterwards, so an append applied twice leaves a value no order explains. Partitioned per key.
 */
export function chaosKvModel(): Model<ChaosState, ChaosInput, ChaosOutput> {
  return {
    init: () => null,
    step(state, input, output: ChaosOutput | Unknown) {
      switch (input.kind) {
        case 'get':
          return [output === UNKNOWN || (output.value ?? null) === state, state];
        case 'set':
          return [true, input.value];
        case 'append': {
          const next = (state ?? '') + input.value;
          return [output === UNKNOWN || (output.value ?? null) === next, next];
        }
        case 'cas': {
          const swaps = state === input.expected;
          if (output === UNKNOWN) return [true, swaps ? input.value : state];
          if (swaps) return [output.applied === true, input.value];
          return [output.applied === false && (output.value ?? null) === state, state];
        }
      }
    },
    equal: (a, b) => a === b,
    partition(history: History<ChaosInput, ChaosOutput>) {
      const byKey = new Map<string, Operation<ChaosInput, ChaosOutput>[]>();
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
      const unknown = output === UNKNOWN;
      switch (input.kind) {
        case 'get':
          return `get(${key}) ${unknown ? '?' : `→ ${JSON.stringify(output.value ?? null)}`}`;
        case 'set':
          return `set(${key}, ${JSON.stringify(input.value)})${unknown ? ' ?' : ''}`;
        case 'append':
          return `append(${key}, ${JSON.stringify(input.value)}) ${unknown ? '?' : `→ ${JSON.stringify(output.value ?? null)}`}`;
        case 'cas':
          return (
            `cas(${key}, ${JSON.stringify(input.expected)} → ${JSON.stringify(input.value)}) ` +
            (unknown
              ? '?'
              : output.applied
                ? 'swapped'
                : `refused, value ${JSON.stringify(output.value ?? null)}`)
          );
      }
    },
    describeState: (s) => JSON.stringify(s),
  };
}
