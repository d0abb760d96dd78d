/**
 * The snapshot data of `fileStateMachine`: a versioned envelope holding the client sessions and the
 * application state encoded by the user's codec (msgpack by default). Owns the byte layout only;
 * must never touch files nor decide when a snapshot is taken.
 *
 * Layout: magic `FLSM` (u32 BE), version (u32 LE), sessions length `n` (u32 LE), the sessions (`n`
 * bytes of msgpack: `[clientId, sequence, response][]`), then the encoded state to the end.
 */
import { StorageError } from '@flotilla/types';
import { Packr } from 'msgpackr';
import type { SessionRow } from './state-machine-sessions.ts';

const MAGIC = 0x464c534d; // 'FLSM'
/** The envelope version this package writes and reads. */
export const STATE_SNAPSHOT_VERSION = 1;
const HEADER = 12;

/**
 * msgpack with msgpackr's structured-clone extension: `Map`, `Set`, `Date`, typed arrays, `BigInt`
 * and shared or cyclic references come back as they went in. Class instances come back as plain
 * objects: give `encode`/`decode` for those.
 */
const packr = new Packr({ structuredClone: true });

/** The default state encoding (see `packr`). */
export function defaultEncode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** The default state decoding. */
export function defaultDecode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Builds snapshot data from the session rows and the encoded state. */
export function encodeStateSnapshot<R>(sessions: readonly SessionRow<R>[], state: Uint8Array): Uint8Array {
  const s = packr.pack(sessions);
  const out = new Uint8Array(HEADER + s.byteLength + state.byteLength);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, false);
  v.setUint32(4, STATE_SNAPSHOT_VERSION, true);
  v.setUint32(8, s.byteLength, true);
  out.set(s, HEADER);
  out.set(state, HEADER + s.byteLength);
  return out;
}

/**
 * Splits snapshot data into session rows and the encoded state. Throws `StorageError` (op
 * `snapshot`) on anything that is not such an envelope, so bad data never replaces the state.
 */
export function decodeStateSnapshot<R>(
  bytes: Uint8Array,
  what: string,
): { sessions: SessionRow<R>[]; state: Uint8Array } {
  const bad = (why: string, cause?: unknown): StorageError =>
    new StorageError('snapshot', `${what}: ${why}`, cause === undefined ? undefined : { cause });
  if (bytes.byteLength < HEADER) throw bad('too short for a state machine snapshot');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, false) !== MAGIC) throw bad('not a fileStateMachine snapshot');
  const version = v.getUint32(4, true);
  if (version !== STATE_SNAPSHOT_VERSION) throw bad(`unknown snapshot version ${version}`);
  const n = v.getUint32(8, true);
  if (HEADER + n > bytes.byteLength) throw bad('the sessions block runs past the end');
  let sessions: unknown;
  try {
    sessions = packr.unpack(bytes.subarray(HEADER, HEADER + n));
  } catch (err) {
    throw bad('the sessions block does not decode', err);
  }
  if (!Array.isArray(sessions)) throw bad('the sessions block is not a list');
  for (const row of sessions as unknown[]) {
    if (
      !Array.isArray(row) ||
      row.length !== 3 ||
      typeof row[0] !== 'string' ||
      !Number.isSafeInteger(row[1])
    )
      throw bad('a session row is not [clientId, sequence, response]');
  }
  return { sessions: sessions as SessionRow<R>[], state: bytes.subarray(HEADER + n) };
}
