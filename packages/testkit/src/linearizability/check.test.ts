import { ErrorCode, hasErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { cas, lostWrite, read, write } from '../../test/register-ops.ts';
import { checkLinearizability } from './check.ts';
import { registerModel } from './register.ts';
import { UNKNOWN } from './types.ts';

const model = registerModel();

describe('checkLinearizability on tiny register histories', () => {
  it('accepts the empty history', () => {
    expect(checkLinearizability(model, []).result).toBe('ok');
  });

  it('accepts a sequential history that follows the model', () => {
    const h = [write(1, 1, 0, 1), read(2, 1, 2, 3), cas(1, 1, 2, true, 4, 5), read(2, 2, 6, 7)];
    const v = checkLinearizability(model, h);
    expect(v.result).toBe('ok');
    expect(v.explanation).toBeUndefined();
  });

  it('accepts a read of either value while a write is concurrent', () => {
    expect(
      checkLinearizability(model, [write(1, 1, 0, 10), read(2, null, 1, 2), read(3, 1, 3, 4)]).result,
    ).toBe('ok');
  });

  it('rejects a read that goes back in time after seeing the new value', () => {
    // Both reads overlap the write, but once one read saw 1 a later read cannot see nil.
    const h = [write(1, 1, 0, 10), read(2, 1, 1, 2), read(3, null, 3, 4)];
    const v = checkLinearizability(model, h);
    expect(v.result).toBe('illegal');
    expect(v.violation?.culprit).toBe(h[2]);
    expect(v.violation?.minimal).toBe(true);
    expect(v.violation?.prefix).toEqual(h);
    expect(v.explanation).toContain('client 3: read → nil  [3, 4]');
  });

  it('rejects a stale read that follows an acknowledged write', () => {
    const v = checkLinearizability(model, [write(1, 1, 0, 1), read(2, null, 2, 3)]);
    expect(v.result).toBe('illegal');
    expect(v.violation?.longestLinearization).toHaveLength(1);
  });

  it('treats touching intervals as concurrent', () => {
    // The read returns nil at the very instant the write is called: either order is allowed.
    expect(checkLinearizability(model, [write(1, 1, 5, 6), read(2, null, 4, 5)]).result).toBe('ok');
  });

  it('checks cas both ways: ok must see `from`, failed must not', () => {
    expect(checkLinearizability(model, [write(1, 1, 0, 1), cas(2, 1, 2, true, 2, 3)]).result).toBe('ok');
    expect(checkLinearizability(model, [write(1, 1, 0, 1), cas(2, 1, 2, false, 2, 3)]).result).toBe(
      'illegal',
    );
    expect(checkLinearizability(model, [write(1, 1, 0, 1), cas(2, 3, 2, true, 2, 3)]).result).toBe('illegal');
  });
});

describe('operations with an unknown outcome', () => {
  it('may take effect long after their call', () => {
    const h = [lostWrite(1, 7, 0), read(2, null, 5, 6), read(3, 7, 10, 11)];
    expect(checkLinearizability(model, h).result).toBe('ok');
  });

  it('may never take effect', () => {
    expect(checkLinearizability(model, [lostWrite(1, 7, 0), read(2, null, 5, 6)]).result).toBe('ok');
  });

  it('cannot take effect before their call', () => {
    expect(checkLinearizability(model, [read(2, 7, 0, 1), lostWrite(1, 7, 5)]).result).toBe('illegal');
  });

  it('take effect at most once', () => {
    const h = [lostWrite(1, 7, 0), read(2, 7, 1, 2), write(3, 1, 3, 4), read(2, 7, 5, 6)];
    expect(checkLinearizability(model, h).result).toBe('illegal');
  });

  it('ignores the output and return time when either marks the outcome unknown', () => {
    const markedByOutput = { ...read(2, 7, 0, 1), output: UNKNOWN as typeof UNKNOWN };
    const markedByReturn = { ...read(3, 8, 0, 1), return: Number.POSITIVE_INFINITY };
    const h = [markedByOutput, markedByReturn, write(1, 1, 2, 3)];
    expect(checkLinearizability(model, h).result).toBe('ok');
    // The same reads with a known outcome are illegal (nothing ever wrote 7 or 8).
    expect(checkLinearizability(model, [read(2, 7, 0, 1), write(1, 1, 2, 3)]).result).toBe('illegal');
  });
});

describe('budget', () => {
  // Many concurrent writes and a read nobody wrote: every order is tried before giving up.
  const hard = [...Array.from({ length: 12 }, (_, i) => write(i, i, 0, 100)), read(99, 42, 101, 102)];

  it('answers unknown when the step budget runs out', () => {
    const v = checkLinearizability(model, hard, { maxSteps: 50 });
    expect(v.result).toBe('unknown');
    expect(v.steps).toBe(51);
    expect(v.explanation).toContain('budget exhausted after 51 steps');
    expect(v.explanation).toContain('part 1 of 1 of 13 operations');
  });

  it('answers unknown when the time budget runs out (injected clock)', () => {
    let t = 0;
    const v = checkLinearizability(model, hard, { maxMs: 10, now: () => (t += 1) });
    expect(v.result).toBe('unknown');
  });

  it('answers with the full verdict when the budget suffices', () => {
    const v = checkLinearizability(model, hard, { maxSteps: 1_000_000 });
    expect(v.result).toBe('illegal');
    expect(v.steps).toBeGreaterThan(12);
  });

  it('keeps the illegal verdict when the budget runs out while minimizing', () => {
    const h = [write(1, 1, 0, 1), read(2, null, 2, 3), write(3, 5, 4, 5), read(4, 5, 6, 7)];
    const searchOnly = checkLinearizability(model, h, { minimize: false }).steps;
    const v = checkLinearizability(model, h, { maxSteps: searchOnly + 1 });
    expect(v.result).toBe('illegal');
    expect(v.violation?.minimal).toBe(false);
    expect(v.violation?.prefix).toEqual(h);
    expect(v.violation?.culprit).toBe(h[3]);
  });

  it('reports a possibly non-minimal prefix when minimizing is off', () => {
    const v = checkLinearizability(model, [write(1, 1, 0, 1), read(2, null, 2, 3), read(3, 1, 4, 5)], {
      minimize: false,
    });
    expect(v.violation?.minimal).toBe(false);
    expect(v.explanation).toContain('the budget ran out before it was minimized');
  });
});

describe('input validation', () => {
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (err) {
      return hasErrorCode(err) ? err.code : 'not a flotilla error';
    }
    return undefined;
  };

  it('rejects malformed times with INVALID_REQUEST', () => {
    expect(code(() => checkLinearizability(model, [write(1, 1, Number.NaN, 1)]))).toBe(
      ErrorCode.InvalidRequest,
    );
    expect(code(() => checkLinearizability(model, [write(1, 1, 5, 4)]))).toBe(ErrorCode.InvalidRequest);
    expect(code(() => checkLinearizability(model, [null as never]))).toBe(ErrorCode.InvalidRequest);
    expect(code(() => checkLinearizability(model, 'x' as never))).toBe(ErrorCode.InvalidRequest);
  });

  it('rejects bad options with INVALID_CONFIG', () => {
    expect(code(() => checkLinearizability(model, [], { maxSteps: -1 }))).toBe(ErrorCode.InvalidConfig);
    expect(code(() => checkLinearizability(model, [], { maxMs: Number.NaN }))).toBe(ErrorCode.InvalidConfig);
  });

  it('rejects a partition that loses, repeats or invents operations with INVALID_CONFIG', () => {
    const h = [write(1, 1, 0, 1), write(2, 2, 0, 1)];
    const lossy = { ...model, partition: () => [[h[0] as (typeof h)[0]]] };
    expect(code(() => checkLinearizability(lossy, h))).toBe(ErrorCode.InvalidConfig);
    const doubled = { ...model, partition: () => [[h[0] as (typeof h)[0]], [h[0] as (typeof h)[0]]] };
    expect(code(() => checkLinearizability(doubled, h))).toBe(ErrorCode.InvalidConfig);
    const invented = { ...model, partition: () => [[h[0] as (typeof h)[0], write(3, 3, 0, 1)]] };
    expect(code(() => checkLinearizability(invented, h))).toBe(ErrorCode.InvalidConfig);
  });
});
