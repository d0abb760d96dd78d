/**
 * @packageDocumentation
 * flotilla-kv: a replicated key-value store built on Flotilla — one process per node, the TCP
 * transport and the file log store, an HTTP API compatible with openraft's `raft-kv-memstore`
 * example on the same port as Raft, a web dashboard and a CLI.
 *
 * This index is everything other workspace packages (benchmarks, tests, tools) may use: embedding a
 * node in a process, talking to a cluster over HTTP, the state machine and its requests, and a
 * cluster of node processes. The package exports nothing else (`package.json` `exports` has only
 * this entry): every other module of `src/` is internal and may change with any commit.
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
export { type AckedWrite, KvClient, type KvClientOptions, type KvReply } from './client.ts';
export {
  DEFAULT_MAX_BODY_BYTES,
  type KvHttpHandler,
  type KvHttpOptions,
  type KvReader,
  kvHttpHandler,
} from './http-api.ts';
export {
  type KvRequest,
  type KvResponse,
  KvState,
  type KvStateOptions,
  MAX_KEY_LENGTH,
  parseKvRequest,
} from './kv-state.ts';
export {
  BIN_PATH,
  BUILT_BIN_PATH,
  DEFAULT_BIN_PATH,
  freePort,
  LocalCluster,
  type LocalClusterOptions,
} from './local-cluster.ts';
export { type LoopDelayMonitor, type LoopDelaySnapshot, startLoopDelayMonitor } from './loop-delay.ts';
export {
  isKvTransport,
  KV_COMMITTED_FLUSH_MS,
  KV_RAFT_DEFAULTS,
  KV_TRANSPORTS,
  type KvNode,
  type KvNodeOptions,
  type KvTransport,
  startKvNode,
} from './node.ts';
export {
  decodeKvSnapshot,
  encodeKvSnapshot,
  KV_SNAPSHOT_VERSION,
  type KvStateMachine,
  type KvStateMachineOptions,
  openKvStateMachine,
} from './state-machine.ts';
