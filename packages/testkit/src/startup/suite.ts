/**
 * The start-up suite's entry point: registers the cases of `cases.ts` with vitest under a harness.
 * Must never hold a case itself.
 */
import type { RegisterOptions } from '../case.ts';
import { registerCases } from '../case.ts';
import { startupCases } from './cases.ts';
import type { StartupHarness } from './harness.ts';

/**
 * Registers the start-up conformance suite with vitest as `describe(name)`: a node started on a
 * log store and a state machine filled beforehand (empty, purged, snapshotted, the state machine
 * ahead of or behind the log) must report the log, applied, snapshot and membership state that
 * follows from them, as openraft's `get_initial_state_*` and `get_membership_*` cases check.
 *
 * @example
 * ```ts
 * startupSuite('memory stores', {
 *   setup: async () => ({ logStore: memoryLogStore(), stateMachine: memoryStateMachine({ initial: 0, apply }) }),
 *   start: async (stores, id) => {
 *     const raft = await Raft.create({ id, network, config, ...stores });
 *     return {
 *       metrics: () => raft.metrics.current,
 *       until: (pred, what) => raft.wait({ timeoutMs: 5_000 }).until(pred, what),
 *       stop: () => raft.shutdown(),
 *     };
 *   },
 * });
 * ```
 */
export function startupSuite<D, R>(
  name: string,
  harness: StartupHarness<D, R>,
  opts?: RegisterOptions,
): void {
  registerCases(name, startupCases(harness), opts);
}
