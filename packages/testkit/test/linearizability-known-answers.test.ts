import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  checkLinearizability,
  kvModel,
  parseJepsenEtcdLog,
  parseKvEdnHistory,
  registerModel,
  type Verdict,
} from '../src/linearizability/index.ts';

// The repo root is packages/testkit/../.. ; the data lives beside it and is never copied.
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dataDir = join(repoRoot, '..', 'shared', 'data', 'linearizability');

function readVerdicts(): [file: string, linearizable: boolean][] {
  const rows = readFileSync(join(dataDir, 'verdicts.tsv'), 'utf8').trim().split('\n').slice(1);
  return rows.map((row) => {
    const [file, answer] = row.split('\t');
    if (file === undefined || (answer !== 'true' && answer !== 'false')) throw new Error(`bad row ${row}`);
    return [file, answer === 'true'];
  });
}

function check(file: string): Verdict {
  const text = readFileSync(join(dataDir, file), 'utf8');
  // A step budget keeps verdicts independent of machine load; the largest history needs < 2 M steps.
  const budget = { maxSteps: 50_000_000 };
  return file.startsWith('kv/')
    ? (checkLinearizability(kvModel(), parseKvEdnHistory(text), budget) as Verdict)
    : (checkLinearizability(registerModel(), parseJepsenEtcdLog(text), budget) as Verdict);
}

describe('known-answer histories (Porcupine test data)', () => {
  it('gives the recorded verdict on all 108 histories', { timeout: 120_000 }, async ({ annotate }) => {
    const rows = readVerdicts();
    expect(rows).toHaveLength(108);
    const started = performance.now();
    const wrong: string[] = [];
    let slowest = { file: '', ms: 0 };
    for (const [file, linearizable] of rows) {
      const t0 = performance.now();
      const verdict = check(file);
      const ms = performance.now() - t0;
      if (ms > slowest.ms) slowest = { file, ms };
      const expected = linearizable ? 'ok' : 'illegal';
      if (verdict.result !== expected) wrong.push(`${file}: expected ${expected}, got ${verdict.result}`);
      if (verdict.result === 'illegal') expect(verdict.explanation).toContain('not linearizable');
    }
    const totalMs = performance.now() - started;
    const note =
      `linearizability: 108 histories checked in ${(totalMs / 1000).toFixed(2)} s ` +
      `(slowest ${slowest.file}: ${slowest.ms.toFixed(0)} ms)`;
    process.stdout.write(`${note}\n`);
    // Recorded with the test result too, so reporters (and CI's JSON report) keep the figure.
    await annotate(note);
    expect(wrong).toEqual([]);
  });
});
