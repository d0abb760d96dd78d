/**
 * The engine's settings: `EngineConfig`, its defaults and `validateEngineConfig`, which checks every
 * field once, when an `Engine` is built, and throws `InvalidConfigError` naming the first bad one.
 * Defaults that other packages share (heartbeat interval, payload size) come from `@flotilla/types`:
 * it must never keep a copy of its own.
 */
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_PAYLOAD_ENTRIES,
  InvalidConfigError,
} from '@flotilla/types';

/** The engine's configuration. Times are milliseconds of the injected clock. */
export interface EngineConfig {
  /** Lower bound of the randomized election timeout. */
  electionTimeoutMinMs: number;
  /** Upper bound (exclusive) of the randomized election timeout; must exceed the minimum. */
  electionTimeoutMaxMs: number;
  /** How often the leader broadcasts heartbeats; must be below the election timeout minimum. */
  heartbeatIntervalMs: number;
  /** Ask for pre-votes before a real election, so a rejoining node cannot depose a healthy leader. */
  enablePreVote: boolean;
  /**
   * Leader lease: a voter refuses votes this long after hearing from a leader; lease reads use it too.
   * At most `electionTimeoutMinMs` (a voter whose own timer fired no longer honours it).
   */
  leaseMs: number;
  /** Fraction of the lease given up to clock drift (`0 <= drift < 1`). */
  maxClockDrift: number;
  /** At most this many entries per replication request. */
  maxPayloadEntries: number;
  /** Build a snapshot once this many entries were applied since the last one (0 disables). */
  snapshotPolicy: { sinceLast: number };
  /** Entries kept in the log below the snapshot's last log id when purging. */
  maxInSnapshotLogToKeep: number;
  /** Purge only once at least this many entries can go at once. */
  purgeBatchSize: number;
  /** Allow a follower's log to revert below what the leader knew it matched (e.g. a wiped disk). */
  allowLogReversion: boolean;
  /** A leader that has not heard from a quorum for an election timeout steps down. */
  checkQuorum: boolean;
  /**
   * When set, `changeMembership` refuses (`ChangeMembershipError` 'NotCaughtUp') to make a voter of a
   * node that is not one yet unless it is a learner whose replicated log is within this many entries
   * of the leader's last log id. Unset: no check (catching up is `addLearner`'s job, as in openraft).
   */
  maxPromotionLag?: number;
}

/** Defaults matching DESIGN §5: 150–300 ms elections, 50 ms heartbeats. */
export function defaultEngineConfig(): EngineConfig {
  return {
    electionTimeoutMinMs: 150,
    electionTimeoutMaxMs: 300,
    heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
    enablePreVote: true,
    leaseMs: 150,
    maxClockDrift: 0.1,
    maxPayloadEntries: DEFAULT_MAX_PAYLOAD_ENTRIES,
    snapshotPolicy: { sinceLast: 5000 },
    maxInSnapshotLogToKeep: 1000,
    purgeBatchSize: 1,
    allowLogReversion: false,
    checkQuorum: true,
  };
}

/**
 * Fills the defaults and checks every field; throws `InvalidConfigError` naming the first bad one.
 */
export function validateEngineConfig(partial: Partial<EngineConfig> = {}): EngineConfig {
  const c: EngineConfig = { ...defaultEngineConfig(), ...partial };
  const positive = (field: keyof EngineConfig, v: number) => {
    if (!Number.isFinite(v) || v <= 0) throw new InvalidConfigError(field, `must be > 0, got ${v}`);
  };
  const nonNegativeInt = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 0)
      throw new InvalidConfigError(field, `must be an integer >= 0, got ${v}`);
  };
  positive('electionTimeoutMinMs', c.electionTimeoutMinMs);
  positive('heartbeatIntervalMs', c.heartbeatIntervalMs);
  positive('leaseMs', c.leaseMs);
  if (!(c.electionTimeoutMaxMs > c.electionTimeoutMinMs)) {
    throw new InvalidConfigError('electionTimeoutMaxMs', 'must be greater than electionTimeoutMinMs');
  }
  if (c.leaseMs > c.electionTimeoutMinMs) {
    // A voter whose election timer fires no longer honours the lease: the timer must not fire first.
    throw new InvalidConfigError('leaseMs', 'must not exceed electionTimeoutMinMs');
  }
  if (!(c.heartbeatIntervalMs < c.electionTimeoutMinMs)) {
    throw new InvalidConfigError('heartbeatIntervalMs', 'must be less than electionTimeoutMinMs');
  }
  if (!(c.maxClockDrift >= 0 && c.maxClockDrift < 1)) {
    throw new InvalidConfigError('maxClockDrift', 'must be in [0, 1)');
  }
  if (!Number.isInteger(c.maxPayloadEntries) || c.maxPayloadEntries < 1) {
    throw new InvalidConfigError('maxPayloadEntries', 'must be an integer >= 1');
  }
  nonNegativeInt('snapshotPolicy.sinceLast', c.snapshotPolicy.sinceLast);
  nonNegativeInt('maxInSnapshotLogToKeep', c.maxInSnapshotLogToKeep);
  if (c.maxPromotionLag !== undefined) nonNegativeInt('maxPromotionLag', c.maxPromotionLag);
  if (!Number.isInteger(c.purgeBatchSize) || c.purgeBatchSize < 1) {
    throw new InvalidConfigError('purgeBatchSize', 'must be an integer >= 1');
  }
  return c;
}
