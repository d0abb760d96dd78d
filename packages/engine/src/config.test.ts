import { describe, expect, it } from 'vitest';
import { defaultEngineConfig, validateEngineConfig } from './config.ts';

describe('engine config', () => {
  it('the defaults are valid', () => {
    expect(validateEngineConfig()).toEqual(defaultEngineConfig());
  });

  it('thesis §6.4: refuses a lease longer than the shortest election timeout', () => {
    // A follower whose election timer fires stops honouring the lease for itself: if that can happen
    // before the lease ran out, a quorum of timed-out followers elects a new leader while the old one
    // still serves lease reads.
    expect(() => validateEngineConfig({ electionTimeoutMinMs: 150, leaseMs: 151 })).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG', field: 'leaseMs' }),
    );
    expect(validateEngineConfig({ electionTimeoutMinMs: 150, leaseMs: 150 }).leaseMs).toBe(150);
  });
});
