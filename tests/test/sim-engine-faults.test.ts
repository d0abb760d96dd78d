import { Engine } from '@flotilla/engine';
import { describe, expect, it } from 'vitest';
import { runEngineSeed } from '../src/sim/engine/run.ts';
import { type NetConfig, World } from '../src/sim/engine/world.ts';
import { Prng } from '../src/sim/prng.ts';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
const quiet: NetConfig = {
  loss: 0,
  dup: 0,
  delayMs: 2,
  jitterMs: 0,
  stall: 0,
  rpcTimeoutMs: 100,
  flushMs: 0,
};

describe('engine simulator fault injection', () => {
  it('isolate() cuts a group from every other node, both ways, and leaves links inside the group', () => {
    const w = new World(new Prng(7), ids, quiet, {}, Engine);
    w.isolate('n1', ['n2'], 'test');
    for (const a of ['n1', 'n2'])
      for (const b of ['n3', 'n4', 'n5']) {
        expect(w.cut.has(`${a}|${b}`)).toBe(true);
        expect(w.cut.has(`${b}|${a}`)).toBe(true);
      }
    expect(w.cut.has('n1|n2')).toBe(false);
    expect(w.cut.has('n3|n4')).toBe(false);
    expect(w.faults.partition).toBe(1);
  });

  it('a message across the cut is dropped on arrival even if it was sent before the cut', () => {
    const w = new World(new Prng(7), ids, quiet, {}, Engine);
    const got: string[] = [];
    w.send('n1', 'n3', 'before', () => got.push('before'));
    w.send('n1', 'n2', 'inside', () => got.push('inside'));
    w.isolate('n1', ['n2'], 'test');
    while (w.sched.now < 50 && w.sched.step() !== null);
    expect(got).toEqual(['inside']);
  });

  it('a stalled message arrives 10 to 150 ms late and is counted', () => {
    for (const stall of [0, 1]) {
      const w = new World(new Prng(3), ids, { ...quiet, stall }, {}, Engine);
      let at = -1;
      w.send('n1', 'n2', 'm', () => {
        at = w.sched.now;
      });
      while (at < 0 && w.sched.step() !== null);
      if (stall === 0) expect(at).toBe(2);
      else {
        expect(at).toBeGreaterThanOrEqual(12);
        expect(at).toBeLessThanOrEqual(152);
      }
      expect(w.faults.stall).toBe(stall);
    }
  });

  it('every kind of fault, term churn included, happens across a few seeds', () => {
    const totals: Record<string, number> = {};
    for (let seed = 1; seed <= 30; seed++) {
      const r = runEngineSeed({ engine: Engine, seed, steps: 3000, checkLinearizability: false });
      expect(r.violation).toBeNull();
      for (const [k, v] of Object.entries(r.faults)) totals[k] = (totals[k] ?? 0) + v;
    }
    for (const [k, v] of Object.entries(totals)) expect(v, `no ${k} fault in 30 seeds`).toBeGreaterThan(0);
    expect(Object.keys(totals).sort()).toEqual(
      [
        'churn',
        'crash',
        'dup',
        'loss',
        'membership',
        'partition',
        'purge',
        'reorder',
        'snapshot',
        'stall',
      ].sort(),
    );
  }, 60_000);
});
