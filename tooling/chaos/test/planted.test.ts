import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NETNS_ENV } from '../src/netns.ts';
import { PLANTED_BUGS, type PlantedBug } from '../src/planted.ts';

const run = promisify(execFile);

// Each planted bug (kv's test mode) under its scripted fault schedule: the harness must fail the
// run, for the reason the bug causes, within 20 s. Needs root: the schedules cut links with
// iptables inside a private network namespace, so each run happens in test/planted-script.ts
// under `unshare --net`, as `pnpm chaos` does.
const expected: Record<PlantedBug, RegExp> = {
  'ack-before-commit': /acknowledged writes lost/,
  'follower-local-read': /history NOT linearizable/,
  'skip-fsync': /acknowledged writes lost/,
};

describe('planted bugs under their scripted schedules', () => {
  for (const bug of PLANTED_BUGS) {
    it(`${bug}: the harness fails the run`, async () => {
      const { stdout } = await run(
        'unshare',
        [
          '--net',
          '--',
          process.execPath,
          '--conditions=@flotilla/source',
          '--import',
          'tsx',
          'test/planted-script.ts',
          bug,
        ],
        { cwd: `${import.meta.dirname}/..`, env: { ...process.env, [NETNS_ENV]: '1' }, timeout: 90_000 },
      );
      const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
      expect(out.detected, JSON.stringify(out)).toBe(true);
      expect(out.reasons.join('; ')).toMatch(expected[bug]);
      expect(out.injected).toBeGreaterThan(0);
      expect(out.harnessErrors).toEqual([]);
      expect(out.secondsToDetection).toBeLessThanOrEqual(20);
    });
  }
});
