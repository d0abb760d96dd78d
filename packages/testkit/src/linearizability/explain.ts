/**
 * Owns the wording of a verdict: what an `illegal` one shows (the part, the failing prefix, the
 * longest linearization found) and why an `unknown` one stopped. Text only: it must never change a
 * verdict nor search again.
 */
import { isPending } from './search.ts';
import type { Model, Operation, Violation } from './types.ts';
import { UNKNOWN } from './types.ts';

/** Renders an operation; one still running at `cut` shows an unknown output. */
function describeOp<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>, cut: number): string {
  const output = isPending(op) || op.return > cut ? UNKNOWN : op.output;
  const ret = op.return === Number.POSITIVE_INFINITY ? '∞' : String(op.return);
  return `client ${String(op.clientId)}: ${model.describe(op.input, output)}  [${op.call}, ${ret}]`;
}

function partLabel(partIndex: number, partCount: number, partName: string | undefined): string {
  const where = `part ${partIndex + 1} of ${partCount}`;
  return partName === undefined ? where : `${partName} (${where})`;
}

/** Lists at most `max` lines, keeping the head or the tail, with a note for the rest. */
function capped(lines: string[], max: number, keep: 'head' | 'tail'): string[] {
  if (lines.length <= max) return lines;
  const hidden = lines.length - max;
  return keep === 'head'
    ? [...lines.slice(0, max), `  … ${hidden} more`]
    : [`  … ${hidden} earlier`, ...lines.slice(lines.length - max)];
}

/** The explanation of an illegal verdict. */
export function explainIllegal<S, I, O>(model: Model<S, I, O>, v: Violation<I, O>, max: number): string {
  const out: string[] = [];
  out.push(`not linearizable: ${partLabel(v.partIndex, v.partCount, v.partName)}`);
  const size = v.minimal
    ? 'smallest failing prefix'
    : 'failing prefix (the budget ran out before it was minimized)';
  out.push(`${size}: ${v.prefix.length} operations, up to the return of`);
  out.push(`  ${describeOp(model, v.culprit, v.culprit.return)}`);

  const steps: string[] = [];
  let state = model.init();
  v.longestLinearization.forEach((op, i) => {
    const [, next] = model.step(
      state,
      op.input,
      isPending(op) || op.return > v.culprit.return ? UNKNOWN : op.output,
    );
    state = next;
    const after = model.describeState === undefined ? '' : `  ⇒ ${model.describeState(state)}`;
    steps.push(`  ${i + 1}. ${describeOp(model, op, v.culprit.return)}${after}`);
  });
  out.push(
    `longest linearization found (${v.longestLinearization.length} of ${v.prefix.length} operations):`,
  );
  if (steps.length === 0) out.push('  (none: no operation can be linearized first)');
  out.push(...capped(steps, max, 'tail'));

  const placed = new Set(v.longestLinearization);
  // The culprit ended the prefix: any operation that had returned by then has a known outcome.
  const stuck = v.prefix.filter(
    (op) => !placed.has(op) && !isPending(op) && (op === v.culprit || op.return <= v.culprit.return),
  );
  out.push('with a known outcome, none of these can come next:');
  out.push(
    ...capped(
      stuck.map((op) => `  ${describeOp(model, op, v.culprit.return)}`),
      max,
      'head',
    ),
  );
  const pending = v.prefix.filter((op) => !placed.has(op) && !stuck.includes(op));
  if (pending.length > 0) {
    out.push('still pending at that point (may take effect later, or never):');
    out.push(
      ...capped(
        pending.map((op) => `  ${describeOp(model, op, v.culprit.return)}`),
        max,
        'head',
      ),
    );
  }
  return out.join('\n');
}

/** What {@link explainUnknown} reports. */
export interface UnknownContext {
  /** Steps used when the budget ran out. */
  readonly steps: number;
  /** Milliseconds used when the budget ran out. */
  readonly elapsedMs: number;
  /** The part being searched. */
  readonly partIndex: number;
  /** Number of parts. */
  readonly partCount: number;
  /** The part's name, if the model names parts. */
  readonly partName: string | undefined;
  /** Operations in the part. */
  readonly partSize: number;
}

/** The explanation of an unknown verdict. */
export function explainUnknown(c: UnknownContext): string {
  return (
    `budget exhausted after ${c.steps} steps and ${c.elapsedMs.toFixed(1)} ms while checking ` +
    `${partLabel(c.partIndex, c.partCount, c.partName)} of ${c.partSize} operations; ` +
    'no violation was found in the parts checked before it'
  );
}
