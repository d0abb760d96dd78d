/**
 * The network suite's entry point: gathers the unary, stream and malformed-request cases (stream
 * ones only when the harness asks for them) and registers them with vitest. Must never hold a case
 * itself.
 */
import { assertUniqueNames, type ConformanceCase, type RegisterOptions, registerCases } from '../case.ts';
import { hostPortAddressCases } from './cases-address.ts';
import { invalidStreamCases, invalidUnaryCases } from './cases-invalid.ts';
import { streamCases } from './cases-stream.ts';
import { unaryCases } from './cases-unary.ts';
import type { NetworkHarness } from './harness.ts';

/**
 * The network conformance cases: unary round-trips, the RPC error taxonomy (`RemoteError`,
 * `UnreachableError`, `RpcTimeoutError`, aborts), and `streamAppend` (order, cumulative acks, whole
 * requests, ends on conflict / higher vote / input end, errors, timeout, abort), and malformed
 * requests (well-framed, wrong content) delivered as sent and refused by the handler with
 * `INVALID_REQUEST`, carried back to the caller. Stream cases are left out only when
 * `requireStreamAppend` is `false`; with `hostPortAddresses`, the factory's `validateAddress` is
 * checked too.
 */
export function networkCases(harness: NetworkHarness): ConformanceCase[] {
  const stream =
    harness.requireStreamAppend === false ? [] : [...streamCases(harness), ...invalidStreamCases(harness)];
  const addresses =
    harness.hostPortAddresses === undefined ? [] : hostPortAddressCases(harness.hostPortAddresses);
  return assertUniqueNames([...unaryCases(harness), ...invalidUnaryCases(harness), ...stream, ...addresses]);
}

/**
 * Registers the network conformance suite with vitest as `describe(name)`.
 *
 * @example
 * ```ts
 * networkSuite('tcp', {
 *   setup: async (handler) => {
 *     const server = await startServer(handler);
 *     return { client: tcpNetwork().newClient('b', { addr: server.addr }), stopTarget: () => server.stop() };
 *   },
 * });
 * ```
 */
export function networkSuite(name: string, harness: NetworkHarness, opts?: RegisterOptions): void {
  registerCases(name, networkCases(harness), opts);
}
