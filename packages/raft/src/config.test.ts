import { defaultReplicationConfig } from '@flotilla/replication';
import { ErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { createConfig, DEFAULT_CONFIG } from './config.ts';

describe('createConfig', () => {
  it('has no uncommitted-entries limit unless one is given', () => {
    expect(createConfig().maxUncommittedEntries).toBeNull();
    expect(createConfig({ maxUncommittedEntries: 512 }).maxUncommittedEntries).toBe(512);
    expect(createConfig({ maxUncommittedEntries: null }).maxUncommittedEntries).toBeNull();
  });
  it('fills defaults', () => {
    const c = createConfig();
    expect(c).toEqual({ ...DEFAULT_CONFIG, snapshotPolicy: { sinceLast: 5000 } });
    expect(c.snapshotPolicy).not.toBe(DEFAULT_CONFIG.snapshotPolicy);
  });
  it('takes the flow-control defaults from the replication package (one source)', () => {
    const { maxPayloadEntries, maxInflightRequests, maxInflightBytes, snapshotChunkBytes } = DEFAULT_CONFIG;
    expect({ maxPayloadEntries, maxInflightRequests, maxInflightBytes, snapshotChunkBytes }).toEqual({
      maxPayloadEntries: defaultReplicationConfig.maxPayloadEntries,
      maxInflightRequests: defaultReplicationConfig.maxInflightRequests,
      maxInflightBytes: defaultReplicationConfig.maxInflightBytes,
      snapshotChunkBytes: defaultReplicationConfig.snapshotChunkBytes,
    });
  });
  it('takes the snapshot transfer timeout from the replication package and keeps a given one as is', () => {
    expect(DEFAULT_CONFIG.installSnapshotTimeoutMs).toBe(defaultReplicationConfig.installSnapshotTimeoutMs);
    expect(createConfig({ installSnapshotTimeoutMs: 200 }).installSnapshotTimeoutMs).toBe(200);
    expect(() => createConfig({ installSnapshotTimeoutMs: 0 })).toThrow(/installSnapshotTimeoutMs/);
  });
  it('keeps given values and derives the lease from the election timeout', () => {
    const c = createConfig({
      heartbeatIntervalMs: 100,
      electionTimeoutMinMs: 1000,
      electionTimeoutMaxMs: 2000,
    });
    expect([c.heartbeatIntervalMs, c.electionTimeoutMinMs, c.electionTimeoutMaxMs, c.leaseMs]).toEqual([
      100, 1000, 2000, 1000,
    ]);
    expect(createConfig({ snapshotPolicy: { sinceLast: null } }).snapshotPolicy).toEqual({ sinceLast: null });
  });
  it("takes the replication timeout and back-off from replication's defaults, merging a partial back-off", () => {
    const d = createConfig();
    expect(d.replicationTimeoutMs).toBe(defaultReplicationConfig.appendTimeoutMs);
    expect(d.replicationBackoff).toEqual(defaultReplicationConfig.backoff);
    const c = createConfig({
      replicationTimeoutMs: 250,
      replicationBackoff: { errorsBeforeBackoff: 0, maxMs: 800 },
    });
    expect(c.replicationTimeoutMs).toBe(250);
    expect(c.replicationBackoff).toEqual({
      ...defaultReplicationConfig.backoff,
      errorsBeforeBackoff: 0,
      maxMs: 800,
    });
  });
  it.each([
    [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs'],
    [{ heartbeatIntervalMs: 1.5 }, 'heartbeatIntervalMs'],
    [{ electionTimeoutMinMs: 300, electionTimeoutMaxMs: 300 }, 'electionTimeoutMaxMs'],
    [{ heartbeatIntervalMs: 200 }, 'heartbeatIntervalMs'],
    [{ leaseMs: 151 }, 'leaseMs'],
    [{ maxClockDrift: 1 }, 'maxClockDrift'],
    [{ maxClockDrift: -0.1 }, 'maxClockDrift'],
    [{ snapshotPolicy: { sinceLast: 0 } }, 'snapshotPolicy.sinceLast'],
    [{ maxPayloadEntries: -1 }, 'maxPayloadEntries'],
    [{ enablePreVote: 'yes' }, 'enablePreVote'],
    [{ clusterName: '' }, 'clusterName'],
    [{ heartbeat: 10 }, 'heartbeat'],
    [{ replicationTimeoutMs: 0 }, 'replicationTimeoutMs'],
    [{ replicationBackoff: null }, 'replicationBackoff'],
    [{ replicationBackoff: { initialMs: -1 } }, 'replicationBackoff.initialMs'],
    [{ replicationBackoff: { initialMs: 500, maxMs: 100 } }, 'replicationBackoff.maxMs'],
    [{ replicationBackoff: { multiplier: 0.5 } }, 'replicationBackoff.multiplier'],
    [{ replicationBackoff: { errorsBeforeBackoff: -1 } }, 'replicationBackoff.errorsBeforeBackoff'],
    [{ replicationBackoff: { jitter: 1 } }, 'replicationBackoff.jitter'],
    [{ maxUncommittedEntries: 0 }, 'maxUncommittedEntries'],
    [{ maxUncommittedEntries: 2.5 }, 'maxUncommittedEntries'],
    [{ maxUncommittedEntries: '512' }, 'maxUncommittedEntries'],
  ])('refuses %j naming %s', (input, field) => {
    expect(() => createConfig(input as never)).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidConfig, field }),
    );
  });
});
