import { assertUniqueNames, type ConformanceCase, type RegisterOptions, registerCases } from '../case.ts';
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
 * `requireStreamAppend` is `false`.
 */
export function networkCases(harness: NetworkHarness): ConformanceCase[] {
  const stream =
    harness.requireStreamAppend === false ? [] : [...streamCases(harness), ...invalidStreamCases(harness)];
  return assertUniqueNames([...unaryCases(harness), ...invalidUnaryCases(harness), ...stream]);
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
