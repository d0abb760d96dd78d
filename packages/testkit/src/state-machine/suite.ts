import type { RegisterOptions } from '../case.ts';
import { registerCases } from '../case.ts';
import { stateMachineCases } from './cases.ts';
import type { StateMachineHarness } from './harness.ts';

/**
 * Registers the state-machine conformance suite with vitest as `describe(name)`: apply order and
 * responses, applied state including membership, snapshot build / current / install, atomic install.
 *
 * @example
 * ```ts
 * stateMachineSuite('memoryStateMachine', {
 *   setup: async () => memoryStateMachine({ initial: [] as number[], apply: (s, n: number) => [[...s, n], s.length] }),
 *   command: (i) => i,
 * });
 * ```
 */
export function stateMachineSuite<D, R>(
  name: string,
  harness: StateMachineHarness<D, R>,
  opts?: RegisterOptions,
): void {
  registerCases(name, stateMachineCases(harness), opts);
}
