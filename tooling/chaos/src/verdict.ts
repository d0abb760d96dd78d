/**
 * The verdict of a run, from what was recorded: (a) the history (with the final reads of every key
 * on every node) checked by `@flotilla/testkit`'s linearizability checker, (b) acknowledged writes
 * missing from the final state, (c) whether every node's state machine holds the same map, and the
 * share of unknown outcomes. Pure: it reads the recorded data and performs no I/O.
 */
import { checkLinearizability } from '@flotilla/testkit';
import { type RecordedOp, toCheckerHistory } from './history.ts';
import { chaosKvModel } from './model.ts';

/** A key's value on each node after convergence (`null`: absent). */
export type FinalStates = Record<string, Record<string, string | null>>;

/** What the verdict is computed from. */
export interface VerdictInput {
  /** Every operation of the workload. */
  readonly ops: readonly RecordedOp[];
  /** After convergence: node id → key → value, for every key the workload touched. */
  readonly final: FinalStates;
  /** When the final reads were made (ms since start, after every operation ended). */
  readonly finalAtMs: number;
  /** Problems of the harness itself that void the run (e.g. a cut that did not take effect). */
  readonly harnessErrors?: readonly string[];
  /** Whether the cluster converged after the last heal. */
  readonly converged: boolean;
  /** The checker's time budget in ms (default 120 000). */
  readonly checkMaxMs?: number;
  /** Largest share of unknown outcomes that still passes (default 0.01). */
  readonly maxUnknownShare?: number;
}

/** The linearizability part of a verdict, as the last line names it. */
export type HistoryVerdict = 'linearizable' | 'NOT linearizable' | 'unknown';

/** An acknowledged write missing from a node's final state. */
export interface LostWrite {
  /** The operation id. */
  readonly id: number;
  readonly key: string;
  readonly value: string;
  /** The node whose final state lacks it. */
  readonly node: string;
  /** What that node holds instead. */
  readonly found: string | null;
}

/** The verdict. */
export interface Verdict {
  /** Whether the run passes: linearizable, nothing lost, identical state machines, few unknowns. */
  readonly pass: boolean;
  /** Why it fails (empty when it passes). */
  readonly reasons: string[];
  /** The history's verdict. */
  readonly history: HistoryVerdict;
  /** Operations in the checked history (failed ones left out; final reads included). */
  readonly checkedOperations: number;
  /** The smallest non-linearizable slice, readable (or why the check gave up). */
  readonly explanation?: string;
  /** Checker steps and ms. */
  readonly checkSteps: number;
  readonly checkMs: number;
  /** Acknowledged writes: sets, inserts and appends answered ok, compare-and-sets answered swapped. */
  readonly acknowledgedWrites: number;
  /** Acknowledged writes a node's final state contradicts (each write counted once). */
  readonly lost: LostWrite[];
  /** Final values no operation could have written (corruption, or a failed write that took effect). */
  readonly unexplained: { key: string; node: string; value: string }[];
  /** Whether all nodes hold the same map. */
  readonly stateMachinesIdentical: boolean;
  /** Keys whose value differs between nodes, with each node's value. */
  readonly divergent: { key: string; values: Record<string, string | null> }[];
  /** Operations with an unknown outcome, and their share of all operations. */
  readonly unknown: number;
  readonly unknownShare: number;
}

/** Whether `op` is an acknowledged write. */
export function isAcknowledgedWrite(op: RecordedOp): boolean {
  if (op.outcome !== 'ok') return false;
  if (op.kind === 'write' || op.kind === 'insert' || op.kind === 'append') return true;
  return op.kind === 'cas' && op.result?.applied === true;
}

/** Whether `op` may have written its value (acknowledged, or unknown). */
function mayHaveWritten(op: RecordedOp): boolean {
  if (op.kind === 'read') return false;
  return op.outcome === 'unknown' || op.outcome === null || isAcknowledgedWrite(op);
}

/** The tokens of an append key's value: each append adds one unique token ending in `;`. */
export function appendTokens(value: string | null): string[] {
  if (value === null || value === '') return [];
  return value
    .split(';')
    .slice(0, -1)
    .map((t) => `${t};`);
}

/**
 * Finds acknowledged writes that a final state contradicts. Written values are unique, so the final
 * value `f` of a key names the one operation `x` that wrote it. An acknowledged write `w` of the key
 * is lost when `f` is absent (the workload never deletes), when nothing could have written `f`, or
 * when `x` was acknowledged before `w` was invoked (then `w` follows `x` in every order and `f`
 * cannot be the last value). Keys that are only appended to are read as their tokens: an
 * acknowledged append is lost when its token is missing, and a value is unexplained when a token
 * was never appended (or not malformed) or appears twice (an append applied twice).
 */
export function findLostWrites(
  ops: readonly RecordedOp[],
  final: FinalStates,
): { lost: LostWrite[]; unexplained: Verdict['unexplained'] } {
  const writerOf = new Map<string, RecordedOp>();
  const appendKeys = new Set<string>();
  for (const op of ops) {
    if (op.kind === 'append') appendKeys.add(op.key);
    if (op.value !== undefined && mayHaveWritten(op)) writerOf.set(`${op.key}\0${op.value}`, op);
  }
  const lost = new Map<number, LostWrite>();
  const unexplained: Verdict['unexplained'] = [];
  const seenUnexplained = new Set<string>();
  for (const [node, state] of Object.entries(final)) {
    for (const [key, value] of Object.entries(state)) {
      if (value === null || seenUnexplained.has(`${node}\0${key}`)) continue;
      let explained: boolean;
      if (appendKeys.has(key)) {
        const tokens = appendTokens(value);
        explained =
          tokens.join('') === value &&
          new Set(tokens).size === tokens.length &&
          tokens.every((t) => writerOf.get(`${key}\0${t}`)?.kind === 'append');
      } else explained = writerOf.has(`${key}\0${value}`);
      if (!explained) {
        seenUnexplained.add(`${node}\0${key}`);
        unexplained.push({ key, node, value });
      }
    }
    for (const w of ops) {
      if (!isAcknowledgedWrite(w) || lost.has(w.id)) continue;
      if (w.kind === 'append') {
        const f = state[w.key] ?? null;
        if (!appendTokens(f).includes(w.value ?? '')) {
          lost.set(w.id, { id: w.id, key: w.key, value: w.value ?? '', node, found: f });
        }
        continue;
      }
      const f = state[w.key] ?? null;
      if (f === w.value) continue;
      const x = f === null ? undefined : writerOf.get(`${w.key}\0${f}`);
      const overwrittenByLater =
        x !== undefined && !(x.outcome === 'ok' && x.completeMs !== null && x.completeMs < w.invokeMs);
      if (!overwrittenByLater) lost.set(w.id, { id: w.id, key: w.key, value: w.value ?? '', node, found: f });
    }
  }
  return { lost: [...lost.values()].sort((a, b) => a.id - b.id), unexplained };
}

/** Keys whose values differ between nodes. */
export function compareStates(final: FinalStates): Verdict['divergent'] {
  const nodes = Object.keys(final);
  const keys = new Set<string>();
  for (const s of Object.values(final)) for (const k of Object.keys(s)) keys.add(k);
  const out: Verdict['divergent'] = [];
  for (const key of [...keys].sort()) {
    const values: Record<string, string | null> = {};
    for (const n of nodes) values[n] = final[n]?.[key] ?? null;
    if (new Set(Object.values(values)).size > 1) out.push({ key, values });
  }
  return out;
}

/** The final reads as history operations: every key on every node, after everything else. */
export function finalReads(final: FinalStates, atMs: number): RecordedOp[] {
  const out: RecordedOp[] = [];
  let t = atMs;
  for (const [node, state] of Object.entries(final)) {
    for (const [key, value] of Object.entries(state)) {
      out.push({
        id: -1 - out.length,
        client: `final@${node}`,
        kind: 'read',
        key,
        node: Number(node),
        invokeMs: t,
        completeMs: t + 0.001,
        outcome: 'ok',
        result: { value },
      });
      t += 0.01;
    }
  }
  return out;
}

/** Computes the verdict of a run. */
export function computeVerdict(input: VerdictInput): Verdict {
  const reasons: string[] = [...(input.harnessErrors ?? [])];
  const history = toCheckerHistory([...input.ops, ...finalReads(input.final, input.finalAtMs)]);
  const check = checkLinearizability(chaosKvModel(), history, { maxMs: input.checkMaxMs ?? 120_000 });
  const verdictName: HistoryVerdict =
    check.result === 'ok' ? 'linearizable' : check.result === 'illegal' ? 'NOT linearizable' : 'unknown';
  if (verdictName !== 'linearizable') reasons.push(`history ${verdictName}`);
  const { lost, unexplained } = findLostWrites(input.ops, input.final);
  if (lost.length > 0) reasons.push(`${lost.length} acknowledged writes lost`);
  if (unexplained.length > 0) reasons.push(`${unexplained.length} final values no operation wrote`);
  const divergent = compareStates(input.final);
  if (divergent.length > 0) reasons.push(`state machines differ on ${divergent.length} keys`);
  if (!input.converged) reasons.push('the cluster did not converge after the last heal');
  const unknown = input.ops.filter((o) => o.outcome === 'unknown' || o.outcome === null).length;
  const unknownShare = input.ops.length === 0 ? 0 : unknown / input.ops.length;
  const maxShare = input.maxUnknownShare ?? 0.01;
  if (unknownShare > maxShare) {
    reasons.push(
      `${(unknownShare * 100).toFixed(2)}% unknown outcomes (limit ${(maxShare * 100).toFixed(2)}%)`,
    );
  }
  if (input.ops.length === 0) reasons.push('no operations were recorded');
  return {
    pass: reasons.length === 0,
    reasons,
    history: verdictName,
    checkedOperations: history.length,
    ...(check.explanation === undefined ? {} : { explanation: check.explanation }),
    checkSteps: check.steps,
    checkMs: Math.round(check.elapsedMs),
    acknowledgedWrites: input.ops.filter(isAcknowledgedWrite).length,
    lost,
    unexplained,
    stateMachinesIdentical: divergent.length === 0,
    divergent,
    unknown,
    unknownShare,
  };
}
