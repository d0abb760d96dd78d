import { InvalidRequestError, type NodeId } from '@flotilla/types';

/**
 * openraft's example uses `u64` node ids, Flotilla uses strings. flotilla-kv names its nodes with
 * decimal strings (`"1"`, `"2"`, …) and converts at the HTTP boundary.
 */

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * A Flotilla node id as it appears in JSON: a number when it is a canonical decimal that fits in a
 * safe integer (every id flotilla-kv makes), otherwise the string unchanged.
 */
export function toWireId(id: NodeId): number | string {
  if (DECIMAL.test(id)) {
    const n = Number(id);
    if (Number.isSafeInteger(n)) return n;
  }
  return id;
}

/** {@link toWireId} for nullable ids. */
export function toWireIdOrNull(id: NodeId | null): number | string | null {
  return id === null ? null : toWireId(id);
}

/**
 * A node id from JSON: a non-negative safe integer. Throws `InvalidRequestError` at `path`
 * otherwise.
 */
export function fromWireId(v: unknown, path: string): NodeId {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidRequestError(path, 'expected a node id: a non-negative integer');
  }
  return String(v);
}
