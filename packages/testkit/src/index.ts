/**
 * @packageDocumentation
 * Conformance suites for Flotilla implementations: log storage, state machines and networks. Each
 * suite is a list of named cases over a `{ setup(), teardown() }` harness; `*Suite(name, harness)`
 * registers them with vitest, `*Cases(harness)` returns them to run directly (e.g. to prove a suite
 * rejects a broken implementation). It also holds the linearizability checker for client histories.
 *
 * @example
 * ```ts
 * import { logStorageSuite, networkSuite, stateMachineSuite } from '@flotilla/testkit';
 *
 * logStorageSuite('my store', {
 *   setup: () => openMyStore(dir),
 *   teardown: (store) => store.close?.() ?? Promise.resolve(),
 *   reopen: async (store) => { await store.close?.(); return openMyStore(dir); },
 * });
 * ```
 */
export * from './case.ts';
export * from './fixtures.ts';
export * from './linearizability/index.ts';
export * from './log-storage/harness.ts';
export * from './log-storage/suite.ts';
export * from './network/cases-unary.ts';
export * from './network/context.ts';
export * from './network/handler.ts';
export * from './network/harness.ts';
export * from './network/suite.ts';
export * from './state-machine/cases.ts';
export * from './state-machine/harness.ts';
export * from './state-machine/suite.ts';
