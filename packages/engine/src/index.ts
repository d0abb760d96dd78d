/**
 * @packageDocumentation
 * The sans-I/O Raft engine of Flotilla: events in, commands out. An {@link @flotilla/engine#Engine} holds a node's
 * Raft state; every input is a method call with the current time of an injected clock; everything
 * it wants done (storage writes, replication, replies, applies) comes out of `takeCommands()` as a
 * {@link @flotilla/engine#Command}. No timers, no awaits, no I/O: a runtime (`@flotilla/raft`) or a deterministic
 * simulator drives it.
 *
 * @example
 * ```ts
 * import { Engine } from '@flotilla/engine';
 *
 * const engine = new Engine({ id: 'a', config: { enablePreVote: false }, random: () => 0.5 });
 * engine.startup({ vote: null, purged: null, keyLogIds: [], committed: null, applied: null, snapshot: null, memberships: [] }, 0);
 * engine.initialize({ configs: [['a']], nodes: { a: { addr: 'a:1' } } }, 0);
 * for (const cmd of engine.takeCommands()) {
 *   // run cmd against storage / network, then report back, e.g.:
 *   if (cmd.type === 'appendEntries' || cmd.type === 'saveVote') engine.onLocalIo({ type: 'flushed', ioId: cmd.ioId }, 1);
 * }
 * engine.serverState(); // 'Leader' once its vote and log are flushed
 * ```
 */
export type {
  Command,
  Condition,
  EngineResponse,
  HeartbeatTarget,
  LocalIoEvent,
  ReplicatePayload,
  ReplicationResult,
  ReplicationTarget,
  StateMachineCommand,
} from './command.ts';
export { defaultEngineConfig, type EngineConfig, validateEngineConfig } from './config.ts';
export type { IoMark, LogReversion } from './core.ts';
export { Engine, type EngineOptions, type EngineStartup } from './engine.ts';
export { LogIdList } from './log-ids.ts';
