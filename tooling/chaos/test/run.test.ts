import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastLine } from '../src/report.ts';
import { runChaos } from '../src/run.ts';

// The short real run of the test command: 3 flotilla-kv processes, kill -9 and SIGSTOP faults, in
// the lease-read variant: /linearizable_read served from the leader's lease while leaders are
// paused (seed 11 pauses the leader twice) — a paused leader that wakes up must not serve a stale
// read from an expired lease. (The default readIndex policy runs in the planted-bug controls and in
// `pnpm chaos`.)
describe('a short real chaos run (lease reads)', () => {
  it('passes: linearizable, nothing lost, identical state machines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-chaos-test-'));
    try {
      const report = await runChaos({
        seed: 11,
        durationS: 25,
        nodes: 3,
        families: ['kill', 'pause'],
        readPolicy: 'lease',
        dir,
      });
      const why = JSON.stringify({
        reasons: report.reasons,
        explanation: report.linearizability.explanation,
      });
      expect(report.pass, why).toBe(true);
      expect(report.faults.byFamily.kill.injected).toBeGreaterThan(0);
      expect(report.faults.byFamily.pause.injected).toBeGreaterThan(0);
      expect(report.readPolicy).toBe('lease');
      const leaderPauses = report.faults.steps.filter((f) => f.family === 'pause' && f.variant === 'leader');
      expect(leaderPauses.filter((f) => f.status === 'injected').length).toBeGreaterThan(0);
      expect(report.operations.byKind.read.ok).toBeGreaterThan(50);
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
