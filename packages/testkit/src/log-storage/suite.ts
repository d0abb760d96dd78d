import { assertUniqueNames, type ConformanceCase, type RegisterOptions, registerCases } from '../case.ts';
import { basicCases } from './cases-basic.ts';
import { flushCases } from './cases-flush.ts';
import { misuseCases } from './cases-misuse.ts';
import { purgeBeyondEndCases } from './cases-purge-beyond-end.ts';
import { truncatePurgeCases } from './cases-truncate-purge.ts';
import type { LogStorageHarness } from './harness.ts';

/**
 * The log-storage conformance cases for a harness: initial state, votes, appends and reads (full and
 * limited), flush callbacks (exactly once, in order, only once durable, entries readable before they
 * are durable when the harness can hold flushes), truncate, purge (also beyond the last entry, which
 * empties the log and moves its end to the purged id), key log ids, the log state after each,
 * refused misuse (`StorageMisuseError`), and a randomized comparison with a model log.
 */
export function logStorageCases(harness: LogStorageHarness): ConformanceCase[] {
  return [
    ...assertUniqueNames([
      ...basicCases(harness),
      ...flushCases(harness),
      ...truncatePurgeCases(harness),
      ...purgeBeyondEndCases(harness),
      ...misuseCases(harness),
    ]),
  ];
}

/**
 * Registers the log-storage conformance suite with vitest as `describe(name)`.
 *
 * @example
 * ```ts
 * logStorageSuite('memoryLogStore', { setup: async () => memoryLogStore() });
 * ```
 */
export function logStorageSuite(name: string, harness: LogStorageHarness, opts?: RegisterOptions): void {
  registerCases(name, logStorageCases(harness), opts);
}
