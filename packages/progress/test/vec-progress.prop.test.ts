import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jointQuorum, majorityQuorum, type QuorumSet } from '../src/quorum.ts';
import { VecProgress } from '../src/vec-progress.ts';

/** Brute force: the greatest v (among the values and `initial`) whose holders are a majority of every config. */
function bruteQuorumValue(configs: string[][], values: Map<string, number>, initial: number): number {
  if (configs.length === 0) return initial;
  const candidates = [...new Set([initial, ...values.values()])].sort((a, b) => b - a);
  for (const v of candidates) {
    const ok = configs.every((c) => {
      const n = c.filter((id) => (values.get(id) ?? initial) >= v).length;
      return 2 * n > c.length;
    });
    if (ok) return v;
  }
  return initial;
}

const POOL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'];

/** One config of 1–9 distinct voters from the pool. */
const config = fc.shuffledSubarray(POOL, { minLength: 1, maxLength: 9 });
/** One config (majority) or two (joint). */
const configs = fc.oneof(
  config.map((c) => [c]),
  fc.tuple(config, config).map(([x, y]) => [x, y]),
);

function quorumOf(cs: string[][]): QuorumSet {
  return cs.length === 1 ? majorityQuorum(cs[0] as string[]) : jointQuorum(cs);
}

/** Value updates: (pool index, increment or an arbitrary smaller value). */
const updates = fc.array(
  fc.record({ who: fc.nat(POOL.length - 1), delta: fc.integer({ min: -5, max: 20 }) }),
  { maxLength: 80 },
);

describe('VecProgress against brute force', () => {
  it('quorumAccepted and the change flag equal the brute-force quorum value', () => {
    fc.assert(
      fc.property(configs, configs, updates, fc.nat(80), (cs1, cs2, ops, switchAt) => {
        let cs = cs1;
        const voters = () => new Set(cs.flat());
        const learners = POOL.filter((id) => !voters().has(id)).slice(0, 2);
        const p = new VecProgress<number>(quorumOf(cs), { compare: (a, b) => a - b, initial: 0, learners });
        const model = new Map<string, number>();
        let tracked = new Set([...voters(), ...learners]);
        for (const id of tracked) model.set(id, 0);
        let prevQuorum = bruteQuorumValue(cs, model, 0);
        ops.forEach((op, step) => {
          if (step === switchAt) {
            cs = cs2;
            const newLearners = POOL.filter((id) => !voters().has(id)).slice(0, 3);
            p.upgradeQuorumSet(quorumOf(cs), newLearners);
            const next = new Set([...voters(), ...newLearners]);
            for (const id of [...model.keys()]) if (!next.has(id)) model.delete(id);
            for (const id of next) if (!model.has(id)) model.set(id, 0);
            tracked = next;
            prevQuorum = bruteQuorumValue(cs, model, 0);
            expect(p.quorumAccepted()).toBe(prevQuorum);
          }
          const id = POOL[op.who] as string;
          if (!tracked.has(id)) {
            expect(() => p.update(id, 1)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
            return;
          }
          const cur = model.get(id) as number;
          const value = cur + op.delta;
          const changed = p.update(id, value);
          if (value > cur) model.set(id, value);
          const want = bruteQuorumValue(cs, model, 0);
          expect(p.quorumAccepted()).toBe(want);
          expect(changed).toBe(want !== prevQuorum);
          expect(p.get(id)).toBe(model.get(id));
          prevQuorum = want;
        });
        expect(new Map(p.entries())).toEqual(model);
      }),
      { numRuns: 400 },
    );
  });

  it('the quorum value never exceeds what some quorum member holds and never decreases without a config change', () => {
    fc.assert(
      fc.property(configs, updates, (cs, ops) => {
        const p = new VecProgress<number>(quorumOf(cs), { compare: (a, b) => a - b, initial: 0 });
        const q = quorumOf(cs);
        let last = p.quorumAccepted();
        for (const op of ops) {
          const id = POOL[op.who] as string;
          if (p.get(id) === undefined) continue;
          p.update(id, (p.get(id) as number) + Math.abs(op.delta));
          const v = p.quorumAccepted();
          expect(v).toBeGreaterThanOrEqual(last);
          const holders = p
            .entries()
            .filter(([, x]) => x >= v)
            .map(([k]) => k);
          expect(q.isQuorum(holders)).toBe(true);
          last = v;
        }
      }),
      { numRuns: 200 },
    );
  });
});
