/**
 * @packageDocumentation
 * flotilla-kv: a replicated key-value store built on Flotilla — one process per node, the TCP
 * transport and the file log store, an HTTP API compatible with openraft's `raft-kv-memstore`
 * example on the same port as Raft, a web dashboard and a CLI. This module exposes the pieces so
 * tests and tools can embed a node.
 *
 * @example
 * ```ts
 * import { KvState, parseKvRequest } from 'flotilla-kv';
 *
 * const state = new KvState();
 * state.apply(parseKvRequest({ Set: { key: 'foo', value: 'bar' } })); // { value: 'bar', applied: true }
 * state.apply({ Cas: { key: 'foo', expected: 'bar', value: 'baz' } }); // { value: 'baz', applied: true }
 * ```
 */
export { dashboardHtml } from './dashboard.ts';
export {
  clusterMetrics,
  DEFAULT_MAX_BODY_BYTES,
  type KvHttpHandler,
  type KvHttpOptions,
  type KvReader,
  kvHttpHandler,
  parseInitBody,
} from './http-api.ts';
export { fromWireId, toWireId, toWireIdOrNull } from './ids.ts';
export {
  isPlainObject,
  type KvRequest,
  type KvResponse,
  KvState,
  MAX_KEY_LENGTH,
  parseKvRequest,
} from './kv-state.ts';
export {
  err,
  forwardToLeaderJson,
  type Json,
  logIdJson,
  membershipJson,
  metricsJson,
  ok,
  raftErrorJson,
  storedMembershipJson,
  voteJson,
  writeResponseJson,
} from './openraft-json.ts';
export { type KvCounters, newCounters, prometheusText } from './prometheus.ts';
export {
  decodeKvSnapshot,
  encodeKvSnapshot,
  KV_SNAPSHOT_VERSION,
  KvStateMachine,
  type KvStateMachineOptions,
  openKvStateMachine,
} from './state-machine.ts';
