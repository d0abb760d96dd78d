import { describe, expect, it } from 'vitest';
import { Backoff, defaultReplicationConfig, exponentialBackoff, resolveReplicationConfig } from './config.ts';

describe('config', () => {
  it('fills defaults', () => {
    expect(resolveReplicationConfig()).toEqual(defaultReplicationConfig);
    expect(resolveReplicationConfig({ backoff: { maxMs: 10_000 } }).backoff).toEqual({
      initialMs: 50,
      maxMs: 10_000,
      multiplier: 2,
    });
  });

  it.each([
    ['maxPayloadEntries', { maxPayloadEntries: 0 }],
    ['maxInflightRequests', { maxInflightRequests: 1.5 }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: Number.NaN }],
    ['backoff.maxMs', { backoff: { initialMs: 100, maxMs: 10 } }],
    ['backoff.multiplier', { backoff: { multiplier: 0.5 } }],
  ])('refuses a bad %s with INVALID_CONFIG', (field, input) => {
    expect(() => resolveReplicationConfig(input)).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', field }),
    );
  });
});

describe('Backoff', () => {
  it('grows exponentially up to the cap and resets after a success', () => {
    const b = new Backoff(() => exponentialBackoff({ initialMs: 10, maxMs: 50, multiplier: 2 }));
    expect(b.current).toBe(0);
    expect([b.next(), b.next(), b.next(), b.next()]).toEqual([10, 20, 40, 50]);
    b.reset();
    expect(b.current).toBe(0);
    expect(b.next()).toBe(10);
  });

  it("uses a network's finite back-off and keeps its last delay", () => {
    const b = new Backoff(() => [5, 7]);
    expect([b.next(), b.next(), b.next()]).toEqual([5, 7, 7]);
  });
});
