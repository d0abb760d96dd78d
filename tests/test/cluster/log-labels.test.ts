// config.clusterName is not a dead setting: every line a node logs carries { cluster, node }.
import { MemoryRouter } from '@flotilla/memory';
import type { Raft } from '@flotilla/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG, counterNode, recordingLogger } from './harness.ts';

const nodes: Raft<number, number>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

describe('log labels', () => {
  it('every line of a node carries its cluster name and node id; the caller’s fields are kept', async () => {
    const logger = recordingLogger();
    const router = new MemoryRouter();
    const raft = await counterNode(router, 'a', nodes, {
      config: { ...CONFIG, clusterName: 'blue' },
      logger,
    });
    // b is a member nobody serves: a's vote requests to it fail, and a logs each failure
    await raft.initialize({ a: { addr: 'a' }, b: { addr: 'b' } });
    const deadline = Date.now() + 10_000;
    while (!logger.lines.some((l) => l.fields?.target === 'b') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await raft.shutdown();
    expect(logger.lines.some((l) => l.fields?.target === 'b')).toBe(true);
    for (const l of logger.lines) expect(l.fields, l.msg).toMatchObject({ cluster: 'blue', node: 'a' });
  });
});
