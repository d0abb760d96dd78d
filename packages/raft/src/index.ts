/**
 * @packageDocumentation
 * The Flotilla Raft runtime and its public API: `Raft.create` starts a node over a network, a log
 * store and a state machine; the node elects a leader, replicates client writes, answers linearizable
 * reads, changes membership through joint consensus, snapshots and purges its log, and serves the RPC
 * handler its transport calls. `withClientSessions` makes retried writes apply exactly once.
 *
 * @example
 * ```ts
 * import { Raft, withClientSessions } from '@flotilla/raft';
 * import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
 *
 * type Cmd = { key: string; value: number };
 * const router = new MemoryRouter();
 * const nodes = await Promise.all(['a', 'b', 'c'].map(async (id) => {
 *   const raft = await Raft.create<Cmd, number | null>({
 *     id,
 *     network: router.factory(id),
 *     logStore: memoryLogStore(),
 *     stateMachine: withClientSessions(memoryStateMachine<Record<string, number>, Cmd, number | null>({
 *       initial: {},
 *       apply: (s, c) => [{ ...s, [c.key]: c.value }, s[c.key] ?? null] as const,
 *     })),
 *   });
 *   router.register(id, raft);
 *   return raft;
 * }));
 * await nodes[0]!.initialize({ a: { addr: 'a' }, b: { addr: 'b' }, c: { addr: 'c' } });
 * const { currentLeader } = await nodes[0]!.wait().until((m) => m.currentLeader !== null);
 * const leader = nodes.find((n) => n.id === currentLeader)!;
 * await leader.wait().state('Leader');
 * const { logId, response } = await leader.clientWrite({ key: 'x', value: 1 }, { clientId: 'c1', sequence: 1 });
 * await leader.ensureLinearizable(); // then read the state machine
 * ```
 */

// The shared components' contracts, re-exported so a runtime user needs one import.
export {
  type Clock,
  type Logger,
  silentLogger,
  sleep,
  systemClock,
  type TimerHandle,
} from '@flotilla/types';
export type {
  AddLearnerResponse,
  ApplyWriteOptions,
  ClientWriteCommitted,
  ClientWriteResponse,
  CommitWriteOptions,
  LeaderVote,
  RaftApi,
  RaftMetricsApi,
  RaftOptions,
  RaftStateView,
  ReadLinearizer,
  ReadPolicy,
  ResolveAt,
  RuntimeToggles,
  Trigger,
  WriteFfOptions,
  WriteManyOptions,
  WriteOptions,
} from './api.ts';
export { msgpackCodec } from './codec.ts';
export {
  createConfig,
  DEFAULT_CONFIG,
  type RaftConfig,
  type RaftConfigInput,
  validateConfig,
} from './config.ts';
export { MetricsHub, type MetricsListener, Wait } from './metrics.ts';
export {
  type LeaderChange,
  WATCH_KINDS,
  type WatchedValues,
  type WatchKind,
  type WatchListener,
} from './metrics-watch.ts';
export { Raft } from './raft.ts';
export { type ClientSessionsOptions, withClientSessions } from './session-state-machine.ts';
export { ClientSessions } from './sessions.ts';
export { type AppliedEntry, StateMachineWorker, type StateMachineWorkerEvents } from './sm-worker.ts';
