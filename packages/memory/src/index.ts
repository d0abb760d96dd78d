/**
 * @packageDocumentation
 * In-memory parts for Flotilla tests, simulators and demos: a log store that models durability
 * (controllable flushes, `crash()` returning only what is durable, injected failures), a state
 * machine over a pure apply function with snapshots, and a network router between nodes with fault
 * injection (isolation, one-way links, unreachable nodes, seeded delays and drops, append quotas,
 * hooks, counts) and native pipelined `streamAppend`.
 *
 * @example
 * ```ts
 * import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
 *
 * const router = new MemoryRouter({ seed: 7 });
 * const logStore = memoryLogStore();
 * const stateMachine = memoryStateMachine<number, number, number>({
 *   initial: 0,
 *   apply: (sum, n) => [sum + n, sum + n],
 * });
 * // router.register('n1', raft1); // anything implementing RaftRpcHandler
 * const network = router.factory('n1');
 * router.setDelay(1, 5);
 * router.isolate('n2');
 * ```
 */
export * from './log-store.ts';
export * from './router.ts';
export * from './state-machine.ts';
