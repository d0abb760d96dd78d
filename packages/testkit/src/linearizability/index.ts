/**
 * A linearizability checker for client histories: Wing & Gong's search with Lowe's memoization,
 * per-part checking through the model's `partition`, operations with an unknown outcome, a
 * step/time budget that answers `'unknown'` instead of hanging, and on `'illegal'` an explanation
 * of the smallest failing prefix. Ships a register model (read / write / cas), a key-value model
 * (get / put / append, split per key) and parsers for Jepsen etcd logs and EDN key-value histories.
 *
 * @example
 * ```ts
 * import { checkLinearizability, kvModel, parseKvEdnHistory } from '@flotilla/testkit';
 *
 * const verdict = checkLinearizability(kvModel(), parseKvEdnHistory(text), { maxMs: 10_000 });
 * if (verdict.result === 'illegal') throw new Error(verdict.explanation);
 * ```
 *
 * @module
 */
export { checkLinearizability } from './check.ts';
export type { KvInput, KvOutput, KvState } from './kv.ts';
export { kvModel } from './kv.ts';
export type { EdnScalar } from './parse-edn.ts';
export { parseEdnMap, parseKvEdnHistory } from './parse-edn.ts';
export { parseJepsenEtcdLog } from './parse-jepsen.ts';
export type { RegisterInput, RegisterOutput, RegisterValue } from './register.ts';
export { registerModel } from './register.ts';
export type {
  CheckBudget,
  CheckOptions,
  CheckResult,
  History,
  Model,
  Operation,
  Unknown,
  Verdict,
  Violation,
} from './types.ts';
export { UNKNOWN } from './types.ts';
