import { defaultEngineConfig } from '@flotilla/engine';
import { type BackoffConfig, defaultReplicationConfig } from '@flotilla/replication';
import { InvalidConfigError } from '@flotilla/types';

/** Every tunable of a Raft node. Build one with `createConfig(partial)`; every field has a default. */
export interface RaftConfig {
  /**
   * Name of the cluster, put with the node id on every line the node logs (`{ cluster, node }`), as
   * openraft puts `cluster_name` on its spans. It is a label: keeping clusters apart on the wire is the
   * transport's job (e.g. the TCP and gRPC transports' `clusterId`, which refuses peers of another).
   */
  clusterName: string;
  /** How often the leader sends heartbeats, in ms. */
  heartbeatIntervalMs: number;
  /** Lower bound of the randomized election timeout, in ms. */
  electionTimeoutMinMs: number;
  /** Upper bound (exclusive) of the randomized election timeout, in ms. */
  electionTimeoutMaxMs: number;
  /** Most entries in one AppendEntries. */
  maxPayloadEntries: number;
  /** Most unacknowledged AppendEntries per pipelined stream. */
  maxInflightRequests: number;
  /** Most unacknowledged payload bytes per pipelined stream. */
  maxInflightBytes: number;
  /** Largest encoded application entry accepted by `clientWrite`, in bytes. */
  maxEntryBytes: number;
  /** Most writes proposed but not yet applied; beyond it `clientWrite` fails fast with `Overloaded`. */
  maxPendingWrites: number;
  /**
   * Flow control of the leader's log: new client writes are appended only while fewer than this many
   * of its entries are uncommitted; the writes beyond wait in the leader's queue (still counted by
   * `maxPendingWrites`, settled as before at a step-down or stop) and are appended, in order and in one
   * batch, once the commit index moves. One batch may carry the log past the limit. `null` (the
   * default, as openraft and etcd): no limit.
   *
   * A leader whose CPU is the bottleneck gains from a limit (its followers get full requests instead of
   * many small ones, and a write's entries live a shorter time): measured in one process at 4,096
   * clients, 512 made the cluster about 1.2× faster (`BENCHMARKS.md`). A limit also caps throughput at
   * about `limit / commit latency`, so over a slow link size it at least the writes per second times
   * the round trip (etcd's `MaxUncommittedEntriesSize` counts bytes and drops; this counts entries and
   * waits).
   */
  maxUncommittedEntries: number | null;
  /** A learner is "caught up" (for blocking `addLearner`) when it lags at most this many entries. */
  replicationLagThreshold: number;
  /** Build a snapshot every `sinceLast` applied entries since the last one (`null`: never by policy). */
  snapshotPolicy: { sinceLast: number | null };
  /** Entries kept in the log after the snapshot that covers them, for lagging followers. */
  maxInSnapshotLogToKeep: number;
  /** Purge only when at least this many entries can go at once. */
  purgeBatchSize: number;
  /**
   * Timeout of one whole snapshot transfer to a follower (every chunk, and the follower's install), in
   * ms; honoured as given. Default 60 000. openraft's `install_snapshot_timeout` (200 ms) bounds one
   * chunk; this bounds the transfer, so size it for your largest snapshot over your slowest link.
   */
  installSnapshotTimeoutMs: number;
  /** Chunk size for snapshot transfers, in bytes. */
  snapshotChunkBytes: number;
  /**
   * Timeout of one AppendEntries sent by a replication stream, and of the wait for the next reply on
   * a pipelined stream while requests are outstanding (never the stream's lifetime), in ms. A target
   * that stays silent this long is retried (see `replicationBackoff`). Default 1 000.
   */
  replicationTimeoutMs: number;
  /**
   * Back-off of a replication stream after transport errors, used when the network has no
   * `backoff()` of its own: delays from `initialMs`, times `multiplier` each time, capped at `maxMs`.
   * As openraft, `errorsBeforeBackoff` consecutive transient errors (lost connection, timeout) are
   * retried at once; the next one, or any `UNREACHABLE`/remote error, starts the back-off. A success
   * clears it. Default `{initialMs: 50, maxMs: 2000, multiplier: 2, errorsBeforeBackoff: 10}`.
   */
  replicationBackoff: BackoffConfig;
  /** Ask for pre-votes before a real election, so a rejoining node cannot depose a healthy leader. */
  enablePreVote: boolean;
  /** Leader lease, in ms: voters refuse other candidates this long after hearing from a leader. */
  leaseMs: number;
  /** Largest relative clock drift between nodes (0.1 = 10%); lease reads keep this margin. */
  maxClockDrift: number;
  /**
   * Allow a follower's log to go back behind what it acknowledged (e.g. restored from an old backup,
   * or restarted with a wiped store): the leader then repairs it. When `false` (default) the leader
   * logs a `warn` ("log reversion refused") and sends that follower nothing more while it leads.
   */
  allowLogReversion: boolean;
  /** A leader that has not heard from a quorum for an election timeout steps down. */
  checkQuorum: boolean;
  /** Persist the committed log id (if the store supports it) so a restart re-applies at once. */
  saveCommitted: boolean;
  /**
   * Whether the node's tick runs from the start (openraft's `enable_tick`); without it the node
   * neither elects nor sends heartbeats until `runtimeConfig.tick(true)`. Default `true`.
   */
  enableTick: boolean;
  /** Whether a leader sends heartbeats from the start (openraft's `enable_heartbeat`). Default `true`. */
  enableHeartbeat: boolean;
  /** Whether a follower starts an election on timeout from the start (openraft's `enable_elect`). Default `true`. */
  enableElect: boolean;
}

const engineDefaults = defaultEngineConfig();

/**
 * The defaults (DESIGN §5). One source each: the protocol's settings come from the engine that
 * applies them, flow control from the replication package that enforces it; only the runtime's own
 * settings are written here.
 */
export const DEFAULT_CONFIG: Readonly<RaftConfig> = Object.freeze({
  clusterName: 'flotilla',
  heartbeatIntervalMs: engineDefaults.heartbeatIntervalMs,
  electionTimeoutMinMs: engineDefaults.electionTimeoutMinMs,
  electionTimeoutMaxMs: engineDefaults.electionTimeoutMaxMs,
  maxPayloadEntries: defaultReplicationConfig.maxPayloadEntries,
  maxInflightRequests: defaultReplicationConfig.maxInflightRequests,
  maxInflightBytes: defaultReplicationConfig.maxInflightBytes,
  maxEntryBytes: 4 * 1024 * 1024,
  maxPendingWrites: 10_000,
  maxUncommittedEntries: null,
  replicationLagThreshold: 5000,
  snapshotPolicy: Object.freeze({ ...engineDefaults.snapshotPolicy }) as { sinceLast: number | null },
  maxInSnapshotLogToKeep: engineDefaults.maxInSnapshotLogToKeep,
  purgeBatchSize: engineDefaults.purgeBatchSize,
  installSnapshotTimeoutMs: defaultReplicationConfig.installSnapshotTimeoutMs,
  snapshotChunkBytes: defaultReplicationConfig.snapshotChunkBytes,
  replicationTimeoutMs: defaultReplicationConfig.appendTimeoutMs,
  replicationBackoff: defaultReplicationConfig.backoff,
  enablePreVote: engineDefaults.enablePreVote,
  leaseMs: engineDefaults.leaseMs,
  maxClockDrift: engineDefaults.maxClockDrift,
  allowLogReversion: engineDefaults.allowLogReversion,
  checkQuorum: engineDefaults.checkQuorum,
  saveCommitted: true,
  enableTick: true,
  enableHeartbeat: true,
  enableElect: true,
});

/** A partial configuration, as users write it. */
export type RaftConfigInput = Partial<Omit<RaftConfig, 'snapshotPolicy' | 'replicationBackoff'>> & {
  snapshotPolicy?: { sinceLast: number | null };
  /** Any field left out takes its default. */
  replicationBackoff?: Partial<BackoffConfig>;
};

/** Fills defaults into `input` and validates the result (see `validateConfig`). */
export function createConfig(input: RaftConfigInput = {}): RaftConfig {
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(DEFAULT_CONFIG, key)) throw new InvalidConfigError(key, 'unknown configuration field');
  }
  const config: RaftConfig = { ...DEFAULT_CONFIG, ...stripUndefined(input) } as RaftConfig;
  if (input.snapshotPolicy === undefined) config.snapshotPolicy = { ...DEFAULT_CONFIG.snapshotPolicy };
  const backoff: unknown = input.replicationBackoff;
  if (backoff !== undefined && (backoff === null || typeof backoff !== 'object')) {
    throw new InvalidConfigError('replicationBackoff', 'must be an object');
  }
  config.replicationBackoff = {
    ...DEFAULT_CONFIG.replicationBackoff,
    ...stripUndefined(input.replicationBackoff ?? {}),
  };
  if (input.leaseMs === undefined && input.electionTimeoutMinMs !== undefined) {
    // The lease follows the election timeout unless set: a voter must not outlive it.
    config.leaseMs = config.electionTimeoutMinMs;
  }
  return validateConfig(config);
}

/**
 * Checks every field and their relations; throws `InvalidConfigError` naming the first bad field.
 * Relations: `heartbeat < election min < election max`; `lease ≤ election min` (a voter that honours a lease
 * longer than the election timeout would block elections after a leader dies).
 */
export function validateConfig(c: RaftConfig): RaftConfig {
  positiveInt(c, 'heartbeatIntervalMs');
  positiveInt(c, 'electionTimeoutMinMs');
  positiveInt(c, 'electionTimeoutMaxMs');
  positiveInt(c, 'maxPayloadEntries');
  positiveInt(c, 'maxInflightRequests');
  positiveInt(c, 'maxInflightBytes');
  positiveInt(c, 'maxEntryBytes');
  positiveInt(c, 'maxPendingWrites');
  positiveIntOrNull('maxUncommittedEntries', c.maxUncommittedEntries);
  nonNegativeInt(c, 'replicationLagThreshold');
  nonNegativeInt(c, 'maxInSnapshotLogToKeep');
  positiveInt(c, 'purgeBatchSize');
  positiveInt(c, 'installSnapshotTimeoutMs');
  positiveInt(c, 'snapshotChunkBytes');
  positiveInt(c, 'replicationTimeoutMs');
  nonNegativeInt(c, 'leaseMs');
  validateBackoff(c.replicationBackoff);
  if (typeof c.clusterName !== 'string' || c.clusterName.length === 0) {
    throw new InvalidConfigError('clusterName', 'must be a non-empty string');
  }
  for (const k of [
    'enablePreVote',
    'allowLogReversion',
    'checkQuorum',
    'saveCommitted',
    'enableTick',
    'enableHeartbeat',
    'enableElect',
  ] as const) {
    if (typeof c[k] !== 'boolean') throw new InvalidConfigError(k, 'must be a boolean');
  }
  if (typeof c.maxClockDrift !== 'number' || !(c.maxClockDrift >= 0 && c.maxClockDrift < 1)) {
    throw new InvalidConfigError('maxClockDrift', 'must be a number in [0, 1)');
  }
  if (c.snapshotPolicy === null || typeof c.snapshotPolicy !== 'object') {
    throw new InvalidConfigError('snapshotPolicy', 'must be {sinceLast: number | null}');
  }
  positiveIntOrNull('snapshotPolicy.sinceLast', c.snapshotPolicy.sinceLast);
  if (c.electionTimeoutMinMs >= c.electionTimeoutMaxMs) {
    throw new InvalidConfigError('electionTimeoutMaxMs', 'must be greater than electionTimeoutMinMs');
  }
  if (c.heartbeatIntervalMs >= c.electionTimeoutMinMs) {
    throw new InvalidConfigError('heartbeatIntervalMs', 'must be less than electionTimeoutMinMs');
  }
  if (c.leaseMs > c.electionTimeoutMinMs) {
    throw new InvalidConfigError('leaseMs', 'must not exceed electionTimeoutMinMs');
  }
  return c;
}

/** `replicationBackoff`: delays ≥ 0 with `initialMs ≤ maxMs`, a multiplier ≥ 1, a count ≥ 0. */
function validateBackoff(b: BackoffConfig): void {
  const f = (k: keyof BackoffConfig, msg: string) => new InvalidConfigError(`replicationBackoff.${k}`, msg);
  if (b === null || typeof b !== 'object')
    throw new InvalidConfigError('replicationBackoff', 'must be an object');
  for (const k of Object.keys(b)) {
    if (!Object.hasOwn(DEFAULT_CONFIG.replicationBackoff, k))
      throw f(k as keyof BackoffConfig, 'unknown field');
  }
  if (typeof b.initialMs !== 'number' || !Number.isInteger(b.initialMs) || b.initialMs < 0)
    throw f('initialMs', 'must be a non-negative integer');
  if (typeof b.maxMs !== 'number' || !Number.isInteger(b.maxMs) || b.maxMs < b.initialMs)
    throw f('maxMs', 'must be an integer ≥ initialMs');
  if (typeof b.multiplier !== 'number' || !Number.isFinite(b.multiplier) || b.multiplier < 1)
    throw f('multiplier', 'must be a finite number ≥ 1');
  if (
    typeof b.errorsBeforeBackoff !== 'number' ||
    !Number.isInteger(b.errorsBeforeBackoff) ||
    b.errorsBeforeBackoff < 0
  )
    throw f('errorsBeforeBackoff', 'must be a non-negative integer');
}

function positiveInt(c: RaftConfig, k: keyof RaftConfig): void {
  const v = c[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new InvalidConfigError(k, 'must be a positive integer');
}

/** A setting that is a positive integer or `null` (off); `field` names it in the error. */
function positiveIntOrNull(field: string, v: unknown): void {
  if (v !== null && !(typeof v === 'number' && Number.isInteger(v) && v > 0)) {
    throw new InvalidConfigError(field, 'must be a positive integer or null');
  }
}

function nonNegativeInt(c: RaftConfig, k: keyof RaftConfig): void {
  const v = c[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new InvalidConfigError(k, 'must be a non-negative integer');
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
