/**
 * @packageDocumentation
 * The Flotilla Raft runtime and its public API.
 *
 * This release carries the runtime's building blocks: configuration with defaults and validation,
 * the default msgpack codec, injectable clocks, metrics with `wait()` predicates, and exactly-once
 * client sessions for state machines. The `Raft` node itself lands with issue 6.
 *
 * @example
 * ```ts
 * import { createConfig, ClientSessions } from '@flotilla/raft';
 *
 * const config = createConfig({ heartbeatIntervalMs: 100, electionTimeoutMinMs: 1000, electionTimeoutMaxMs: 2000 });
 * const sessions = new ClientSessions<string>();
 * sessions.apply('client-1', 1, () => 'applied'); // { response: 'applied', duplicate: false }
 * ```
 */

export type {
  ClientWriteResponse,
  Logger,
  RaftApi,
  RaftOptions,
  ReadLinearizer,
  ReadPolicy,
  RuntimeToggles,
  Trigger,
  WriteOptions,
} from './api.ts';
export { silentLogger } from './api.ts';
export { type Clock, sleep, systemClock, type TimerHandle } from './clock.ts';
export { msgpackCodec } from './codec.ts';
export {
  createConfig,
  DEFAULT_CONFIG,
  type RaftConfig,
  type RaftConfigInput,
  validateConfig,
} from './config.ts';
export { MetricsHub, type MetricsListener, Wait } from './metrics.ts';
export { Raft } from './raft.ts';
export { type ClientSessionsOptions, withClientSessions } from './session-state-machine.ts';
export { ClientSessions } from './sessions.ts';
export { type AppliedEntry, StateMachineWorker, type StateMachineWorkerEvents } from './sm-worker.ts';
