/**
 * @packageDocumentation
 * Conformance suites for Flotilla implementations: log storage, state machines and networks. Each
 * suite is a list of named cases over a `{ setup(), teardown() }` harness; `*Suite(name, harness)`
 * registers them with vitest, `*Cases(harness)` returns them to run directly (e.g. to prove a suite
 * rejects a broken implementation). The fixtures the cases are built from (entries, probes,
 * typed-rejection checks) are under `@flotilla/testkit/testing`.
 *
 * It also holds a linearizability checker for recorded client histories
 * (`checkLinearizability(model, history, options)`): Wing & Gong's search with Lowe's memoization,
 * a register model and a key-value model, parsers for Jepsen etcd logs and EDN key-value histories,
 * operations with an unknown outcome, a step/time budget that answers `'unknown'` instead of
 * hanging, and on `'illegal'` an explanation of the smallest failing part of the history.
 *
 * @example
 * ```ts
 * import { checkLinearizability, kvModel, logStorageSuite, parseKvEdnHistory } from '@flotilla/testkit';
 *
 * logStorageSuite('my store', {
 *   setup: () => openMyStore(dir),
 *   teardown: (store) => store.close?.() ?? Promise.resolve(),
 *   reopen: async (store) => { await store.close?.(); return openMyStore(dir); },
 * });
 *
 * const verdict = checkLinearizability(kvModel(), parseKvEdnHistory(text), { maxMs: 10_000 });
 * if (verdict.result === 'illegal') throw new Error(verdict.explanation);
 * ```
 */
export {
  type CaseResult,
  type ConformanceCase,
  failedCases,
  type RegisterOptions,
  registerCases,
  runCases,
} from './case.ts';
export * from './linearizability/index.ts';
export type { FlushControl, LogStorageHarness } from './log-storage/harness.ts';
export { logStorageCases, logStorageSuite } from './log-storage/suite.ts';
export type { NetworkFixture, NetworkHarness } from './network/harness.ts';
export { networkCases, networkSuite } from './network/suite.ts';
export { startupCases } from './startup/cases.ts';
export type { StartedNode, StartupHarness, StartupStores } from './startup/harness.ts';
export { startupSuite } from './startup/suite.ts';
export { stateMachineCases } from './state-machine/cases.ts';
export type { StateMachineHarness } from './state-machine/harness.ts';
export { stateMachineSuite } from './state-machine/suite.ts';
