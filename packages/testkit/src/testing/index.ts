/**
 * `@flotilla/testkit/testing`: the fixtures the conformance suites are built from, for writing
 * cases of your own next to them. Not needed to run the suites (the main entry is enough).
 *
 * @example
 * ```ts
 * import { entriesOf, expectRejectCode, FlushProbe } from '@flotilla/testkit/testing';
 *
 * const probe = new FlushProbe();
 * await store.append(entriesOf(1, 0, 3), probe.onFlushed);
 * await probe.flushed();
 * await expectRejectCode(store.append(entriesOf(1, 5, 6), probe.onFlushed), 'STORAGE_MISUSE', 'a hole');
 * ```
 *
 * @packageDocumentation
 */
export {
  dataFor,
  entriesOf,
  entryAt,
  expectRejectCode,
  FlushProbe,
  leaderVote,
  sampleMembership,
  seededRandom,
  summarizeBytes,
  within,
} from './fixtures.ts';
