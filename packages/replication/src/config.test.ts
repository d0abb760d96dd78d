import { NetworkError, RpcTimeoutError, UnreachableError } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import {
  Backoff,
  defaultReplicationConfig,
  exponentialBackoff,
  isTransientError,
  resolveReplicationConfig,
} from './config.ts';

describe('config', () => {
  it('fills defaults', () => {
    expect(resolveReplicationConfig()).toEqual(defaultReplicationConfig);
    expect(resolveReplicationConfig({ backoff: { maxMs: 10_000 } }).backoff).toEqual({
      initialMs: 50,
      maxMs: 10_000,
      multiplier: 2,
      errorsBeforeBackoff: 10,
    });
  });

  it.each([
    ['maxPayloadEntries', { maxPayloadEntries: 0 }],
    ['maxInflightRequests', { maxInflightRequests: 1.5 }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: Number.NaN }],
    ['backoff.maxMs', { backoff: { initialMs: 100, maxMs: 10 } }],
    ['backoff.multiplier', { backoff: { multiplier: 0.5 } }],
    ['backoff.errorsBeforeBackoff', { backoff: { errorsBeforeBackoff: -1 } }],
    ['backoff.errorsBeforeBackoff', { backoff: { errorsBeforeBackoff: 1.5 } }],
    ['appendTimeoutMs', { appendTimeoutMs: 0 }],
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

  it('retries transient errors at once until they repeat; any other error backs off at once', () => {
    const b = new Backoff(() => exponentialBackoff({ initialMs: 10, maxMs: 50, multiplier: 2 }), 2);
    // Two transient errors in a row are retried without a delay; the third starts the back-off.
    expect([b.failed(true), b.failed(true), b.failed(true), b.failed(true)]).toEqual([0, 0, 10, 20]);
    b.reset();
    expect(b.rank).toBe(0);
    expect(b.failed(true)).toBe(0);
    b.reset();
    // An unreachable target (not transient) backs off at once.
    expect(b.failed(false)).toBe(10);
    expect(b.current).toBe(10);
  });

  it('tells transient errors from the others by code', () => {
    expect(isTransientError(new NetworkError('reset'))).toBe(true);
    expect(isTransientError(new RpcTimeoutError('slow'))).toBe(true);
    expect(isTransientError(new UnreachableError('down'))).toBe(false);
    expect(isTransientError(new Error('plain'))).toBe(false);
  });

  it("uses a network's finite back-off and keeps its last delay", () => {
    const b = new Backoff(() => [5, 7]);
    expect([b.next(), b.next(), b.next()]).toEqual([5, 7, 7]);
  });
});
