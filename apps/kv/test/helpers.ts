import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { KvClient } from '../src/client.ts';
import { LocalCluster } from '../src/local-cluster.ts';
import type { KvTransport } from '../src/node.ts';

/** Node arguments for tests: heartbeat 100 ms, elections 1–2 s (shared, busy machines). */
export const TEST_NODE_ARGS = [
  '--heartbeat-ms',
  '100',
  '--election-min-ms',
  '1000',
  '--election-max-ms',
  '2000',
];

/** The test-mode entry point (`test/bin/flotilla-kv-test`). */
export const TEST_BIN_PATH: string = fileURLToPath(new URL('./bin/flotilla-kv-test', import.meta.url));

/** Node arguments selecting a Raft transport (none for the default, TCP). */
export function transportArgs(transport: KvTransport): string[] {
  return transport === 'tcp' ? [] : ['--transport', transport];
}

/** A temp dir and a cluster in it; `cleanup()` stops the processes and removes the dir. */
export async function tempCluster(
  nodes: number,
  nodeArgs: string[] = [],
  bin?: string,
): Promise<{ cluster: LocalCluster; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kv-test-'));
  const cluster = await LocalCluster.start({
    nodes,
    dir,
    nodeArgs: [...TEST_NODE_ARGS, ...nodeArgs],
    ...(bin === undefined ? {} : { bin }),
  });
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

/** A log id as the metrics endpoint renders it (JSON), or `null` for none. */
export type LogIdJson = { term: number; index: number } | null;

/** Writes `k<i>` = `v<i>` for `from <= i < to` through `c`, eight writes in flight at a time. */
export async function writeKeys(c: KvClient, from: number, to: number): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const i = next++;
      await c.write({ Set: { key: `k${i}`, value: `v${i}` } });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Asserts that each node of `ids` reads `v<i>` for every key `k<i>`, `0 <= i < n`. */
export async function expectAllKeys(
  cluster: LocalCluster,
  c: KvClient,
  ids: number[],
  n: number,
): Promise<void> {
  for (const id of ids) {
    const addr = cluster.addr(id);
    const values = await Promise.all(Array.from({ length: n }, (_, i) => c.read(addr, `k${i}`)));
    const wrong = values.map((v, i) => [i, v] as const).filter(([i, v]) => v !== `v${i}`);
    expect({ id, wrong }).toEqual({ id, wrong: [] });
  }
}
