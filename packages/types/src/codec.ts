/**
 * Encodes application data to bytes and back. The runtime encodes a client's data once, when it is
 * written; the state machine receives decoded values. The default codec (in `@flotilla/raft`) is
 * msgpackr.
 */
export interface Codec<D> {
  /** Encodes a value. Must be deterministic enough that `decode(encode(x))` equals `x`. */
  encode(value: D): Uint8Array;
  /** Decodes bytes produced by `encode`. Throws on bytes it cannot read. */
  decode(bytes: Uint8Array): D;
}
