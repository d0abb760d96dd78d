import { describe, expect, it } from 'vitest';
import type { FaultRecord } from '../src/nemesis.ts';
import { countFaults, lastLine } from '../src/report.ts';

describe('lastLine', () => {
  it('is exactly the line the issue specifies', () => {
    const line = lastLine({
      seed: 7,
      secondsRun: 71.6,
      faults: { injected: 9, byFamily: countFaults([], {}), steps: [] },
      acknowledgedWrites: 1812,
      lost: 0,
      linearizability: { verdict: 'linearizable', checkedOperations: 4000, steps: 1, ms: 1 },
      operations: {
        total: 4211,
        byKind: { read: z(), write: z(), cas: z(), insert: z(), append: z() },
        unknown: 0,
        unknownShare: 0,
      },
    });
    expect(line).toBe(
      'chaos: seed 7, 72 s, 9 faults, 1812 acknowledged writes, 0 lost, history linearizable (4211 operations)',
    );
    expect(line).toMatch(
      /^chaos: seed \d+, \d+ s, \d+ faults, \d+ acknowledged writes, \d+ lost, history (linearizable|NOT linearizable|unknown) \(\d+ operations\)$/,
    );
  });
});

function z() {
  return { ok: 0, fail: 0, unknown: 0 };
}

describe('countFaults', () => {
  it('counts by family and variant, and keeps why a family is unavailable', () => {
    const rec = (
      family: FaultRecord['family'],
      variant: string,
      status: FaultRecord['status'],
    ): FaultRecord => ({
      index: 0,
      family,
      variant,
      atS: 3,
      holdS: 2,
      status,
      targets: [],
    });
    const c = countFaults(
      [
        rec('kill', 'leader', 'injected'),
        rec('kill', 'follower', 'injected'),
        rec('kill', 'leader', 'injected'),
        rec('partition', 'one-way', 'skipped'),
        rec('membership', 'replace-voter', 'failed'),
      ],
      { partition: 'kv cannot bind' },
    );
    expect(c.kill).toEqual({ injected: 3, failed: 0, skipped: 0, variants: { leader: 2, follower: 1 } });
    expect(c.partition).toEqual({
      injected: 0,
      failed: 0,
      skipped: 1,
      variants: {},
      unavailable: 'kv cannot bind',
    });
    expect(c.membership).toEqual({ injected: 0, failed: 1, skipped: 0, variants: {} });
  });
});
