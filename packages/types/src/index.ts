/**
 * @packageDocumentation
 * The contracts every Flotilla package is built against: node ids, votes and their partial order,
 * log ids, entries, membership (joint configs and learners), snapshots, RPC messages, the storage,
 * state-machine and network interfaces, metrics, and error classes with stable codes. Plain data
 * only, zero runtime dependencies.
 *
 * @example
 * ```ts
 * import { compareLogId, isQuorum, uniformMembership, hasErrorCode, ErrorCode } from '@flotilla/types';
 *
 * const m = uniformMembership({ a: { addr: 'a:1' }, b: { addr: 'b:1' }, c: { addr: 'c:1' } });
 * isQuorum(m, ['a', 'b']); // true
 * compareLogId({ term: 2, index: 5 }, { term: 3, index: 1 }); // -1
 * try { await raft.clientWrite(x); } catch (e) { if (hasErrorCode(e, ErrorCode.ForwardToLeader)) { ... } }
 * ```
 */
export * from './address.ts';
export * from './async-queue.ts';
export * from './clock.ts';
export * from './codec.ts';
export * from './defaults.ts';
export * from './entry.ts';
export * from './errors.ts';
export * from './log-id.ts';
export * from './logger.ts';
export * from './membership.ts';
export * from './messages.ts';
export * from './metrics.ts';
export * from './network.ts';
export * from './node.ts';
export * from './snapshot.ts';
export * from './state-machine.ts';
export * from './storage.ts';
export * from './validate.ts';
export * from './vote.ts';
