import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastLine } from '../src/report.ts';
import { runChaos } from '../src/run.ts';

// The short real run of the test command: 3 flotilla-kv processes, kill -9 and SIGSTOP faults.
describe('a short real chaos run', () => {
  it('passes: linearizable, nothing lost, identical state machines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-chaos-test-'));
    try {
      const report = await runChaos({ seed: 11, durationS: 25, nodes: 3, families: ['kill', 'pause'], dir });
      const why = JSON.stringify({
        reasons: report.reasons,
        explanation: report.linearizability.explanation,
      });
      expect(report.pass, why).toBe(true);
      expect(report.faults.byFamily.kill.injected).toBeGreaterThan(0);
      expect(report.faults.byFamily.pause.injected).toBeGreaterThan(0);
      expect(report.lost).toBe(0);
      expect(report.linearizability.verdict).toBe('linearizable');
      expect(report.stateMachinesIdentical).toBe(true);
      expect(report.operations.total).toBeGreaterThan(200);
      expect(report.acknowledgedWrites).toBeGreaterThan(50);
      expect(report.elections).toBeGreaterThan(0);
      expect(report.secondsRun).toBeLessThan(60);
      const written = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
      expect(written.seed).toBe(11);
      const history = (await readFile(join(dir, 'history.jsonl'), 'utf8')).trim().split('\n');
      expect(history).toHaveLength(report.operations.total);
      expect(lastLine(report)).toMatch(
        /^chaos: seed 11, \d+ s, \d+ faults, \d+ acknowledged writes, 0 lost, history linearizable \(\d+ operations\)$/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
