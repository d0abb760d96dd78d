// Run by planted.test.ts inside `unshare --net`: one planted bug under its scripted schedule (the
// partitions need the private namespace); prints the outcome as one JSON line.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupNamespace } from '../src/netns.ts';
import { PLANTED_BUGS, type PlantedBug, runScripted } from '../src/planted.ts';

const bug = process.argv[2] as PlantedBug;
if (!(PLANTED_BUGS as readonly string[]).includes(bug)) throw new Error(`unknown bug ${bug}`);
await setupNamespace();
const dir = await mkdtemp(join(tmpdir(), `flotilla-planted-${bug}-`));
try {
  const r = await runScripted(bug, { seed: 1, dir });
  process.stdout.write(
    `${JSON.stringify({
      detected: r.detected,
      reasons: r.reasons,
      secondsToDetection: r.secondsToDetection,
      secondsRun: r.report.secondsRun,
      faults: r.faults,
      injected: r.report.faults.injected,
      harnessErrors: r.report.harnessErrors,
      lost: r.report.lost,
      history: r.report.linearizability.verdict,
    })}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
