#!/usr/bin/env node
// The README's demo command: prepares the workspace on a fresh machine, then runs flotilla-kv's demo
// (a real 3-node cluster of separate processes over TCP with file storage, a leader killed with
// SIGKILL and restarted, every acknowledged write verified on every node). Extra arguments go to the demo.
import { ensureWorkspace, ROOT, run } from './workspace.mjs';

if (!ensureWorkspace()) {
  process.stderr.write('could not prepare the workspace (pnpm install failed)\n');
  process.exit(1);
}
process.exit(
  run('node', ['apps/kv/bin/flotilla-kv', 'demo', ...process.argv.slice(2)], { cwd: ROOT }) ? 0 : 1,
);
