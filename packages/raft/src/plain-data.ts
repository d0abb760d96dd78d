/**
 * Owns the check that a client's data is plain data that the default codec reads back as the same
 * value: one walk over the value, a type test per node, before msgpackr writes it. It runs on
 * every `clientWrite`, so it must never allocate per node, encode, decode or compare; it only
 * builds a path and a reason once it refuses.
 */
import { InvalidRequestError } from '@flotilla/types';

/** Nesting past which a value is refused: a circular reference, or deeper than data needs. */
export const MAX_DATA_DEPTH = 512;

/** Path segments of the refused value, innermost first; filled only while unwinding a refusal. */
const trail: (string | number)[] = [];

/** `String.prototype.isWellFormed` (Node 20+, ES2024; the base lib is ES2023). */
interface WellFormed {
  isWellFormed(): boolean;
}

/**
 * Throws `InvalidRequestError` (code `INVALID_REQUEST`, `path` such as `data.items[3].fn`) when
 * `value` holds something msgpack would not read back as the same value, or that a JSON snapshot
 * of state built from it could not hold:
 *
 * - accepted: `null`, booleans, finite numbers (`-0` is written as `0`), strings, `Uint8Array`
 *   (a `Buffer` too), valid `Date`s (msgpack timestamps keep their milliseconds), arrays of
 *   accepted values, and plain objects (prototype `Object.prototype` or `null`) whose values are
 *   accepted or `undefined` (an `undefined` property reads back as `undefined`, as a missing key
 *   does); symbol-keyed properties and extra properties of arrays are not data and are not written
 *   (as with `JSON.stringify` and `structuredClone`);
 * - refused: functions, symbols, BigInts (beyond 64 bits msgpack cannot write them; JSON none),
 *   `NaN` and ±`Infinity` (JSON reads them back as `null`), `undefined` as the value itself or in
 *   an array (JSON reads it back as `null`) and holes in arrays, strings or keys with an unpaired
 *   surrogate (UTF-8 reads it back as U+FFFD), the key `__proto__` (msgpackr renames it), invalid
 *   `Date`s, `Map`, `Set`, typed arrays other than `Uint8Array`, `ArrayBuffer`, `DataView`,
 *   instances of any other class (they read back as plain objects without their class), and
 *   nesting deeper than {@link MAX_DATA_DEPTH} (a circular reference).
 */
export function assertPlainData(value: unknown, root = 'data'): void {
  const reason = fault(value, 0);
  if (reason === null) return;
  const path = pathOf(root);
  trail.length = 0;
  throw new InvalidRequestError(path, reason);
}

function fault(v: unknown, depth: number): string | null {
  switch (typeof v) {
    case 'string':
      return (v as unknown as WellFormed).isWellFormed() ? null : LONE_SURROGATE;
    case 'number':
      // NaN - NaN and Infinity - Infinity are NaN; every finite number gives 0.
      return v - v === 0 ? null : `${v} is not a finite number: JSON reads it back as null`;
    case 'boolean':
      return null;
    case 'object':
      return v === null ? null : objectFault(v, depth);
    case 'undefined':
      return 'undefined is not a value: JSON reads it back as null (use null)';
    case 'bigint':
      return 'a BigInt is not accepted: msgpack cannot write one beyond 64 bits, nor JSON any (use a number or a string)';
    case 'symbol':
      return 'a symbol is not data';
    case 'function':
      return 'a function is not data (msgpack would write nothing)';
  }
}

/**
 * The early exit for the common leaves, tested in the loops before a call to `fault`: a finite
 * number or a well-formed string. `false` says only "look closer".
 */
function passes(x: unknown): boolean {
  return typeof x === 'number'
    ? x - x === 0
    : typeof x === 'string' && (x as unknown as WellFormed).isWellFormed();
}

const LONE_SURROGATE = 'a string with an unpaired surrogate: UTF-8 reads it back as U+FFFD';

function objectFault(o: object, depth: number): string | null {
  if (depth >= MAX_DATA_DEPTH)
    return `nested more than ${MAX_DATA_DEPTH} levels deep (a circular reference?)`;
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) {
      const x: unknown = o[i];
      if (passes(x)) continue;
      const f =
        x === undefined
          ? i in o
            ? 'undefined in an array: JSON reads it back as null (use null)'
            : 'a hole in a sparse array: it reads back as undefined (use null)'
          : fault(x, depth + 1);
      if (f !== null) {
        trail.push(i);
        return f;
      }
    }
    return null;
  }
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null) {
    for (const k in o) {
      const x: unknown = (o as Record<string, unknown>)[k];
      let f: string | null = null;
      if (k === '__proto__')
        f = 'the key "__proto__" reads back renamed: msgpackr guards against prototype pollution';
      else if (!(k as unknown as WellFormed).isWellFormed())
        f = 'a key with an unpaired surrogate: UTF-8 reads it back as U+FFFD';
      else if (x === undefined || passes(x)) continue;
      else f = fault(x, depth + 1);
      if (f !== null) {
        trail.push(k);
        return f;
      }
    }
    return null;
  }
  if (o instanceof Uint8Array) return null;
  if (proto === Date.prototype) return Number.isNaN((o as Date).getTime()) ? 'an invalid Date' : null;
  return classFault(o);
}

/** Why an instance of a class other than the accepted ones is refused. */
function classFault(o: object): string {
  if (o instanceof Map) return 'a Map reads back as a plain object (use an object or an array of pairs)';
  if (o instanceof Set) return 'a Set reads back as an array (use an array)';
  if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer)
    return `a ${o.constructor.name} reads back as a Uint8Array of its bytes (use a Uint8Array or an array of numbers)`;
  if (o instanceof Date) return 'a subclass of Date reads back as a Date';
  const ctor: unknown = (o as { constructor?: unknown }).constructor;
  const name = typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'an anonymous class';
  return `an instance of ${name} reads back as a plain object without its class (use plain objects)`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `root` followed by the trail's segments, outermost first, shortened past 24 segments. */
function pathOf(root: string): string {
  let path = root;
  const n = trail.length;
  for (let i = n - 1; i >= 0; i--) {
    if (n > 24 && i === n - 13) {
      path += `…(${n - 24} more)…`;
      i = 12;
      continue;
    }
    const s = trail[i] as string | number;
    path += typeof s === 'number' ? `[${s}]` : IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  }
  return path;
}
