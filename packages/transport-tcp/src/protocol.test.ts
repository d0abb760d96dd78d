import { describe, expect, it } from 'vitest';
import { newNonce, proof, proofMatches } from './auth.ts';
import { looksLikeRaft, RAFT_MAGIC } from './protocol.ts';

describe('looksLikeRaft', () => {
  it('needs the whole magic', () => {
    expect(looksLikeRaft(RAFT_MAGIC)).toBe(true);
    expect(looksLikeRaft(Uint8Array.of(...RAFT_MAGIC, 1, 2))).toBe(true);
    expect(looksLikeRaft(RAFT_MAGIC.subarray(0, 3))).toBe(false);
    expect(looksLikeRaft(new TextEncoder().encode('GET / HTTP/1.1'))).toBe(false);
    expect(looksLikeRaft(Uint8Array.of(0x16, 0x03, 0x01, 0x00))).toBe(false);
  });
});

describe('proof', () => {
  const ctx = {
    clusterId: 'c',
    from: 'a',
    to: 'b',
    kind: 'unary' as const,
    clientNonce: newNonce(),
    serverNonce: newNonce(),
  };
  const secret = new TextEncoder().encode('s');
  it('differs by side, secret and every context field', () => {
    const p = proof(secret, 'server', ctx);
    expect(proofMatches(p, proof(secret, 'server', ctx))).toBe(true);
    expect(proofMatches(p, proof(secret, 'client', ctx))).toBe(false);
    expect(proofMatches(p, proof(new TextEncoder().encode('t'), 'server', ctx))).toBe(false);
    for (const change of [
      { clusterId: 'd' },
      { from: 'x' },
      { to: 'x' },
      { kind: 'stream' as const },
      { serverNonce: newNonce() },
    ])
      expect(proofMatches(p, proof(secret, 'server', { ...ctx, ...change }))).toBe(false);
    expect(proofMatches(p, 'not bytes')).toBe(false);
    expect(proofMatches(p, p.subarray(1))).toBe(false);
  });
});
