import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../src/local-cluster.ts';

/** Node arguments for tests: heartbeat 100 ms, elections 1–2 s (shared, busy machines). */
export const TEST_NODE_ARGS = [
  '--heartbeat-ms',
  '100',
  '--election-min-ms',
  '1000',
  '--election-max-ms',
  '2000',
];

/** A temp dir and a cluster in it; `cleanup()` stops the processes and removes the dir. */
export async function tempCluster(
  nodes: number,
  nodeArgs: string[] = [],
): Promise<{ cluster: LocalCluster; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kv-test-'));
  const cluster = await LocalCluster.start({ nodes, dir, nodeArgs: [...TEST_NODE_ARGS, ...nodeArgs] });
  return {
    cluster,
    cleanup: async () => {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `f` every 100 ms until it returns a value other than `undefined`; rejects after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  f: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last error: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
