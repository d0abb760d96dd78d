/**
 * The sequential model of a single register (read, write, compare-and-set, initially `null`, as
 * Jepsen's `nil`). A model only: it must never decide anything but which outcome is legal in which
 * state.
 */
import type { Model, Unknown } from './types.ts';
import { UNKNOWN } from './types.ts';

/** A register value; `null` is "never written" (Jepsen's `nil`). */
export type RegisterValue = number | string | null;

/** An operation on a single register. */
export type RegisterInput =
  | { readonly kind: 'read' }
  | { readonly kind: 'write'; readonly value: RegisterValue }
  | { readonly kind: 'cas'; readonly from: RegisterValue; readonly to: RegisterValue };

/**
 * What a register operation answered.
 *
 * - read: `ok: true` and the `value` read; `ok: false` means the read failed and observed nothing.
 * - write: `ok: true` when acknowledged; `ok: false` when it definitely did not take effect.
 * - cas: `ok: true` when it swapped; `ok: false` when it saw another value and changed nothing.
 */
export interface RegisterOutput {
  /** Whether the operation succeeded (see above). */
  readonly ok: boolean;
  /** The value read (reads only). */
  readonly value?: RegisterValue;
}

function show(v: RegisterValue): string {
  return v === null ? 'nil' : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function hashValue(v: RegisterValue): number {
  if (v === null) return 0x1b873593;
  if (typeof v === 'number') return Number.isInteger(v) ? v | 0 : Math.floor(v * 1e6) | 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The sequential specification of a single register with read, write and compare-and-set,
 * initially `null` (Jepsen's `nil`).
 *
 * A read is legal when it returns the current value; a write sets the value; a successful cas must
 * see `from` and sets `to`; a failed cas must not see `from` and changes nothing. A failed read or
 * write (`ok: false`) is legal anywhere and changes nothing. An operation with an unknown outcome,
 * if it takes effect, acts as it would on the current state.
 *
 * @returns the model, for {@link checkLinearizability}.
 */
export function registerModel(): Model<RegisterValue, RegisterInput, RegisterOutput> {
  return {
    init: () => null,
    step(state, input, output: RegisterOutput | Unknown) {
      const known = output !== UNKNOWN;
      switch (input.kind) {
        case 'read':
          if (!known || !output.ok) return [true, state];
          return [(output.value ?? null) === state, state];
        case 'write':
          if (known && !output.ok) return [true, state];
          return [true, input.value];
        case 'cas': {
          const matches = state === input.from;
          if (!known) return [true, matches ? input.to : state];
          return output.ok ? [matches, input.to] : [!matches, state];
        }
      }
    },
    equal: (a, b) => a === b,
    hash: hashValue,
    describe(input, output) {
      const result =
        output === UNKNOWN
          ? '?'
          : input.kind === 'read'
            ? output.ok
              ? `→ ${show(output.value ?? null)}`
              : 'failed'
            : output.ok
              ? 'ok'
              : 'failed';
      switch (input.kind) {
        case 'read':
          return `read ${result}`;
        case 'write':
          return `write(${show(input.value)}) ${result}`;
        case 'cas':
          return `cas(${show(input.from)}→${show(input.to)}) ${result}`;
      }
    },
    describeState: show,
  };
}
