import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { pack } from 'msgpackr';
import type { ConnectionKind } from './protocol.ts';

/** Bytes of a handshake nonce. */
export const NONCE_BYTES = 32;

/** A fresh random nonce. */
export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

/** What both proofs of one handshake cover: everything the hello said, and both nonces. */
export interface ProofContext {
  /** The cluster id of the hello. */
  clusterId: string;
  /** The sender's node id. */
  from: string;
  /** The target's node id. */
  to: string;
  /** The connection kind. */
  kind: ConnectionKind;
  /** The client's nonce. */
  clientNonce: Uint8Array;
  /** The server's nonce. */
  serverNonce: Uint8Array;
}

/**
 * The HMAC-SHA256 proof one side gives of the shared secret. The server's and the client's proofs use
 * distinct labels, so one cannot be replayed as the other; each covers the other side's fresh nonce, so
 * an old proof never verifies again. The secret itself never crosses the wire.
 */
export function proof(secret: Uint8Array, side: 'server' | 'client', ctx: ProofContext): Uint8Array {
  const input = pack([
    `flotilla/${side}`,
    ctx.clusterId,
    ctx.from,
    ctx.to,
    ctx.kind,
    Buffer.from(ctx.clientNonce),
    Buffer.from(ctx.serverNonce),
  ]);
  return new Uint8Array(createHmac('sha256', secret).update(input).digest());
}

/** Compares a received proof with the expected one in constant time. */
export function proofMatches(expected: Uint8Array, got: unknown): boolean {
  return (
    got instanceof Uint8Array && got.byteLength === expected.byteLength && timingSafeEqual(expected, got)
  );
}

/** Normalizes a configured secret to bytes (`undefined` when none). */
export function secretBytes(secret: string | Uint8Array | undefined): Uint8Array | undefined {
  if (secret === undefined) return undefined;
  return typeof secret === 'string' ? new Uint8Array(Buffer.from(secret, 'utf8')) : secret;
}
