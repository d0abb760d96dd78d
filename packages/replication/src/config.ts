import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_PAYLOAD_ENTRIES,
  ErrorCode,
  hasErrorCode,
  InvalidConfigError,
} from '@flotilla/types';

/**
 * Back-off after transport errors. As openraft's replication does, a stream retries at once after a
 * few transient errors (a lost connection, a timeout) and backs off only once errors repeat; an
 * `Unreachable` target or a remote error starts the back-off at once. The delays come from the
 * network's `backoff()` when it has one, else from `initialMs` / `multiplier` / `maxMs`.
 */
export interface BackoffConfig {
  /** The first delay, in ms. */
  initialMs: number;
  /** The longest delay, in ms. */
  maxMs: number;
  /** Each next delay is the previous one times this (≥ 1). */
  multiplier: number;
  /**
   * Consecutive transient errors (`NETWORK`, `RPC_TIMEOUT`) retried at once, without a delay; the
   * next one starts the back-off (≥ 0; 0 backs off after every error). Any other error
   * (`UNREACHABLE`, `REMOTE`, …) starts it at once. A success clears the count. Default 10, as
   * openraft (its error ranks: 2 per transient error, 100 per other error, back-off above 20).
   */
  errorsBeforeBackoff: number;
}

/** Tuning of replication streams, heartbeats and snapshot transfers. */
export interface ReplicationConfig {
  /** At most this many entries per AppendEntries request (≥ 1). */
  maxPayloadEntries: number;
  /** At most this many unacknowledged requests per pipelined stream (≥ 1). */
  maxInflightRequests: number;
  /**
   * At most this many unacknowledged payload bytes per pipelined stream (≥ 1). A request is always
   * allowed when nothing is in flight, so one oversized entry still goes through.
   */
  maxInflightBytes: number;
  /**
   * Timeout of a unary AppendEntries, and of the wait for the next reply on a stream while requests
   * are outstanding (never the stream's lifetime), in ms.
   */
  appendTimeoutMs: number;
  /** Heartbeat period; also each heartbeat's timeout, in ms. */
  heartbeatIntervalMs: number;
  /** Timeout of a whole snapshot transfer, in ms. */
  installSnapshotTimeoutMs: number;
  /** Chunk size passed to the network for snapshot data, in bytes. */
  snapshotChunkBytes: number;
  /** Back-off after transport errors. */
  backoff: BackoffConfig;
}

/**
 * The defaults: 300 entries per request, 64 requests / 16 MiB in flight, 3 MiB snapshot chunks,
 * 50 ms heartbeats, a 1 s wait for a reply, back-off from 50 ms to 2 s after 10 transient errors.
 * The one source of these settings' defaults: `@flotilla/raft`'s `DEFAULT_CONFIG` takes its
 * flow-control, timeout and back-off values from here.
 */
export const defaultReplicationConfig: Readonly<ReplicationConfig> = Object.freeze({
  maxPayloadEntries: DEFAULT_MAX_PAYLOAD_ENTRIES,
  maxInflightRequests: 64,
  maxInflightBytes: 16 * 1024 * 1024,
  appendTimeoutMs: 1_000,
  heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
  installSnapshotTimeoutMs: 60_000,
  snapshotChunkBytes: 3 * 1024 * 1024,
  backoff: Object.freeze({ initialMs: 50, maxMs: 2_000, multiplier: 2, errorsBeforeBackoff: 10 }),
});

/** A partial config: any field left out takes its default. */
export type ReplicationConfigInput = Partial<Omit<ReplicationConfig, 'backoff'>> & {
  backoff?: Partial<BackoffConfig>;
};

function positiveInt(field: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1)
    throw new InvalidConfigError(field, `expected an integer ≥ 1, got ${v}`);
}

function positive(field: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new InvalidConfigError(field, `expected a finite number > 0, got ${v}`);
}

/**
 * Fills defaults and checks every field; throws `InvalidConfigError` (code `INVALID_CONFIG`) naming
 * the field at fault.
 */
export function resolveReplicationConfig(input: ReplicationConfigInput = {}): ReplicationConfig {
  const c: ReplicationConfig = {
    ...defaultReplicationConfig,
    ...input,
    backoff: { ...defaultReplicationConfig.backoff, ...input.backoff },
  };
  positiveInt('maxPayloadEntries', c.maxPayloadEntries);
  positiveInt('maxInflightRequests', c.maxInflightRequests);
  positiveInt('maxInflightBytes', c.maxInflightBytes);
  positive('appendTimeoutMs', c.appendTimeoutMs);
  positive('heartbeatIntervalMs', c.heartbeatIntervalMs);
  positive('installSnapshotTimeoutMs', c.installSnapshotTimeoutMs);
  positiveInt('snapshotChunkBytes', c.snapshotChunkBytes);
  if (!Number.isFinite(c.backoff.initialMs) || c.backoff.initialMs < 0)
    throw new InvalidConfigError(
      'backoff.initialMs',
      `expected a finite number ≥ 0, got ${c.backoff.initialMs}`,
    );
  if (!Number.isFinite(c.backoff.maxMs) || c.backoff.maxMs < c.backoff.initialMs)
    throw new InvalidConfigError(
      'backoff.maxMs',
      `expected a finite number ≥ initialMs, got ${c.backoff.maxMs}`,
    );
  if (!Number.isFinite(c.backoff.multiplier) || c.backoff.multiplier < 1)
    throw new InvalidConfigError(
      'backoff.multiplier',
      `expected a finite number ≥ 1, got ${c.backoff.multiplier}`,
    );
  if (!Number.isSafeInteger(c.backoff.errorsBeforeBackoff) || c.backoff.errorsBeforeBackoff < 0)
    throw new InvalidConfigError(
      'backoff.errorsBeforeBackoff',
      `expected an integer ≥ 0, got ${c.backoff.errorsBeforeBackoff}`,
    );
  return c;
}

/** Delays of an exponential back-off: `initialMs`, then ×`multiplier` each time, capped at `maxMs`. */
export function* exponentialBackoff(
  cfg: Pick<BackoffConfig, 'initialMs' | 'maxMs' | 'multiplier'>,
): Generator<number, never> {
  let d = cfg.initialMs;
  for (;;) {
    yield d;
    d = Math.min(cfg.maxMs, Math.max(d * cfg.multiplier, 1));
  }
}

/**
 * Back-off state of one stream: `failed(transient)` counts an error and returns the delay before the
 * next attempt (0 while transient errors have not yet repeated more than `errorsBeforeBackoff`
 * times; then the next delay of a fresh sequence, from the network's `backoff()` if it has one);
 * `next()` moves the sequence on whatever the error; `reset()` is called after every success.
 */
export class Backoff {
  #iter: Iterator<number> | null = null;
  #current = 0;
  #rank = 0;
  readonly #make: () => Iterable<number>;
  readonly #errorsBeforeBackoff: number;

  /**
   * @param make - a fresh delay sequence, e.g. `() => network.backoff?.() ?? exponentialBackoff(cfg)`.
   * @param errorsBeforeBackoff - consecutive transient errors `failed()` lets through without a
   *   delay (default 0: every error backs off).
   */
  constructor(make: () => Iterable<number>, errorsBeforeBackoff = 0) {
    this.#make = make;
    this.#errorsBeforeBackoff = errorsBeforeBackoff;
  }

  /** The delay to wait before the next attempt (0 when no error happened since the last success). */
  get current(): number {
    return this.#current;
  }

  /** Consecutive errors since the last success, a non-transient one counting as a whole streak. */
  get rank(): number {
    return this.#rank;
  }

  /**
   * Counts an error and returns the delay before the next attempt: 0 for a `transient` one (see
   * {@link isTransientError}) while at most `errorsBeforeBackoff` of them came in a row, else the
   * next delay of the sequence (any other error, e.g. `UNREACHABLE`, backs off at once).
   */
  failed(transient: boolean): number {
    this.#rank += transient ? 1 : this.#errorsBeforeBackoff + 1;
    if (this.#rank <= this.#errorsBeforeBackoff) {
      this.#current = 0;
      return 0;
    }
    return this.next();
  }

  /** Moves to the next delay after an error and returns it. */
  next(): number {
    this.#iter ??= this.#make()[Symbol.iterator]();
    const r = this.#iter.next();
    // A finite network back-off that ran out keeps its last delay.
    if (r.done !== true) this.#current = Math.max(0, r.value);
    return this.#current;
  }

  /** Clears the back-off after a success. */
  reset(): void {
    this.#iter = null;
    this.#current = 0;
    this.#rank = 0;
  }
}

/**
 * Whether `error` is a lost connection (`NETWORK`) or a timeout (`RPC_TIMEOUT`): worth an immediate
 * retry until it repeats (openraft's rank-2 errors). `UNREACHABLE` and `REMOTE` are not.
 */
export function isTransientError(error: unknown): boolean {
  return hasErrorCode(error, ErrorCode.Network) || hasErrorCode(error, ErrorCode.RpcTimeout);
}
