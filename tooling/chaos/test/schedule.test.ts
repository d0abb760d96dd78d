import { describe, expect, it } from 'vitest';
import { describeSchedule, FAULT_FAMILIES, generateSchedule, parseFamilies } from '../src/schedule.ts';

describe('generateSchedule', () => {
  it('gives the same schedule for the same seed, and another for another seed', () => {
    const a = generateSchedule({ seed: 42, durationS: 60 });
    const b = generateSchedule({ seed: 42, durationS: 60 });
    const c = generateSchedule({ seed: 43, durationS: 60 });
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('fits the steps between warm-up and cool-down, in order, without overlap', () => {
    for (let seed = 0; seed < 50; seed++) {
      const steps = generateSchedule({ seed, durationS: 60 });
      let free = 3;
      for (const s of steps) {
        expect(s.atS).toBeGreaterThanOrEqual(free - 1e-9);
        expect(s.holdS).toBeGreaterThanOrEqual(2);
        expect(s.holdS).toBeLessThanOrEqual(5);
        expect(s.atS + s.holdS).toBeLessThanOrEqual(57 + 1e-9);
        free = s.atS + s.holdS + 1;
      }
    }
  });

  it('schedules every family once before any family twice, so 60 s covers all of them', () => {
    for (let seed = 0; seed < 50; seed++) {
      const steps = generateSchedule({ seed, durationS: 60 });
      expect(steps.length).toBeGreaterThanOrEqual(FAULT_FAMILIES.length);
      expect(new Set(steps.slice(0, FAULT_FAMILIES.length).map((s) => s.family)).size).toBe(
        FAULT_FAMILIES.length,
      );
    }
  });

  it('draws only from the requested families', () => {
    const steps = generateSchedule({ seed: 7, durationS: 40, families: ['kill', 'pause'] });
    expect(steps.length).toBeGreaterThan(2);
    expect(new Set(steps.map((s) => s.family))).toEqual(new Set(['kill', 'pause']));
    expect(generateSchedule({ seed: 7, durationS: 40, families: [] })).toEqual([]);
  });

  it('describes steps readably', () => {
    const [first] = describeSchedule(generateSchedule({ seed: 1, durationS: 30 }));
    expect(first).toMatch(/^#0 at 3 s: \w+ [\w-]+ for \d+(\.\d)? s$/);
  });
});

describe('parseFamilies', () => {
  it('parses a list and refuses unknown names', () => {
    expect(parseFamilies('kill, pause,kill')).toEqual(['kill', 'pause']);
    expect(() => parseFamilies('kill,flood')).toThrow(/unknown fault family "flood"/);
  });
});
