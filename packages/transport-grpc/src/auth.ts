/**
 * Owns the shared-secret challenge–response: nonces, HMAC proofs and their constant-time check. Both
 * sides prove the secret on every connection; the secret never crosses the wire and a proof covers the
 * other side's fresh nonce, so it is never replayable. It must never decide what a proof grants.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidConfigError } from '@flotilla/types';
import { encodeMessage } from './codec.ts';
import type { ChannelKind } from './protocol.ts';

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
  /** The client's node id. */
  from: string;
  /** The target's node id. */
  to: string;
  /** The channel kind the client declared. */
  kind: ChannelKind;
  /** The client's nonce. */
  clientNonce: Uint8Array;
  /** The server's nonce. */
  serverNonce: Uint8Array;
}

/**
 * The HMAC-SHA256 proof one side gives of the shared secret. The labels differ per side (one proof
 * cannot be reflected as the other) and the transport name is in the label (a proof made for the TCP
 * transport's handshake never verifies here).
 */
export function proof(secret: Uint8Array, side: 'server' | 'client', ctx: ProofContext): Uint8Array {
  const input = encodeMessage([
    `flotilla-grpc/${side}`,
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

/** Normalizes a configured secret to bytes (`undefined` when none); refuses an empty one. */
export function secretBytes(secret: string | Uint8Array | undefined): Uint8Array | undefined {
  if (secret === undefined) return undefined;
  const b = typeof secret === 'string' ? new Uint8Array(Buffer.from(secret, 'utf8')) : secret;
  if (b.byteLength === 0) throw new InvalidConfigError('secret', 'the shared secret must not be empty');
  return b;
}
