import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkLinearizability,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  registerModel,
  UNKNOWN,
} from '../src/linearizability/index.ts';

type Op = Operation<RegisterInput, RegisterOutput>;
const model = registerModel();
/** The same operation with its outcome unknown. */
const lost = (op: Op): Op => ({ ...op, output: UNKNOWN, return: Number.POSITIVE_INFINITY });
const pending = (op: Op): boolean => op.return === Number.POSITIVE_INFINITY || op.output === UNKNOWN;

/**
 * The definition, by brute force: some order of all known-outcome operations and any subset of the
 * unknown-outcome ones respects real time (a returned before b was called ⇒ a first) and the model.
 */
function bruteForce(history: readonly Op[]): boolean {
  const placed = new Array<boolean>(history.length).fill(false);
  const go = (state: ReturnType<typeof model.init>, left: number): boolean => {
    if (left === 0) return true;
    for (let i = 0; i < history.length; i++) {
      const x = history[i] as Op;
      if (placed[i]) continue;
      const blocked = history.some((y, j) => !placed[j] && !pending(y) && y.return < x.call);
      if (blocked) continue;
      const [ok, next] = model.step(state, x.input, pending(x) ? UNKNOWN : x.output);
      if (!ok) continue;
      placed[i] = true;
      const done = go(next, pending(x) ? left : left - 1);
      placed[i] = false;
      if (done) return true;
    }
    return false;
  };
  return go(model.init(), history.filter((op) => !pending(op)).length);
}

const value = fc.constantFrom(null, 0, 1, 2);
const arbOp: fc.Arbitrary<Op> = fc
  .record({
    clientId: fc.nat(5),
    input: fc.oneof(
      fc.constant<RegisterInput>({ kind: 'read' }),
      value.map<RegisterInput>((v) => ({ kind: 'write', value: v })),
      fc.tuple(value, value).map<RegisterInput>(([from, to]) => ({ kind: 'cas', from, to })),
    ),
    ok: fc.boolean(),
    read: value,
    call: fc.nat(20),
    length: fc.nat(8),
    lost: fc.nat(7),
  })
  .map(({ clientId, input, ok, read, call, length, lost }) => ({
    clientId,
    input,
    output:
      lost === 0
        ? UNKNOWN
        : input.kind === 'read'
          ? { ok: true, value: read }
          : { ok: input.kind === 'write' || ok },
    call,
    return: lost === 0 ? Number.POSITIVE_INFINITY : call + length,
  }));

describe('linearizability checker against the definition', () => {
  it('agrees with a brute-force search on random small register histories', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 7 }), (history) => {
        const verdict = checkLinearizability(model, history);
        expect(verdict.result).toBe(bruteForce(history) ? 'ok' : 'illegal');
      }),
      { numRuns: 600, seed: 42 },
    );
  });

  it('reports a failing prefix that is itself illegal, and a shorter cut that is not', () => {
    let violations = 0;
    fc.assert(
      fc.property(fc.array(arbOp, { minLength: 2, maxLength: 7 }), (history) => {
        const verdict = checkLinearizability(model, history);
        const v = verdict.violation;
        if (v === undefined) return;
        violations++;
        expect(v.minimal).toBe(true);
        const cut = v.culprit.return;
        // Returns at the culprit's time count before it when the operation comes first in the history.
        const returnedByCut = (op: Op): boolean =>
          op.return < cut || (op.return === cut && history.indexOf(op) <= history.indexOf(v.culprit));
        const asOfCut = (ops: readonly Op[]): Op[] => ops.map((op) => (returnedByCut(op) ? op : lost(op)));
        expect(bruteForce(asOfCut(v.prefix))).toBe(false);
        // Without the culprit's return (it becomes pending), the prefix is linearizable.
        const before = asOfCut(v.prefix).map((op) => (op === v.culprit ? lost(op) : op));
        expect(bruteForce(before)).toBe(true);
      }),
      { numRuns: 400, seed: 7 },
    );
    // The generator must actually exercise the property.
    expect(violations).toBeGreaterThan(100);
  });

  it('accepts every history recorded from a sequential execution with widened intervals', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbOp, fc.nat(3), fc.nat(3)), { maxLength: 12 }), (ops) => {
        let state = model.init();
        const history: Op[] = ops.map(([op, early, late], i) => {
          // Run the operation at time 10·i, then widen its interval so neighbours overlap.
          const out: RegisterOutput =
            op.input.kind === 'read'
              ? { ok: true, value: state }
              : op.input.kind === 'write'
                ? { ok: true }
                : { ok: state === op.input.from };
          state = model.step(state, op.input, out)[1];
          return { ...op, output: out, call: 10 * i - early * 5, return: 10 * i + late * 5 };
        });
        expect(checkLinearizability(model, history).result).toBe('ok');
      }),
      { numRuns: 300, seed: 3 },
    );
  });
});
