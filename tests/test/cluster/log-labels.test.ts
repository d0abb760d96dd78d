// config.clusterName is not a dead setting: every line a node logs carries { cluster, node }.
import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import type { LogFields, Logger } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { CONFIG } from './harness.ts';

describe('log labels', () => {
  it('every line of a node carries its cluster name and node id; the caller’s fields are kept', async () => {
    const lines: { message: string; fields: LogFields | undefined }[] = [];
    const record = (message: string, fields?: LogFields) => lines.push({ message, fields });
    const logger: Logger = { debug: record, info: record, warn: record, error: record };
    const router = new MemoryRouter();
    const raft = await Raft.create<number, number>({
      id: 'a',
      config: { ...CONFIG, clusterName: 'blue' },
      network: router.factory('a'),
      logStore: memoryLogStore(),
      stateMachine: memoryStateMachine({
        initial: 0,
        apply: (s: number, n: number) => [s + n, s + n] as const,
      }),
      logger,
    });
    router.register('a', raft);
    // b is a member nobody serves: a's vote requests to it fail, and a logs each failure
    await raft.initialize({ a: { addr: 'a' }, b: { addr: 'b' } });
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.fields?.target === 'b') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await raft.shutdown();
    expect(lines.some((l) => l.fields?.target === 'b')).toBe(true);
    for (const l of lines) expect(l.fields, l.message).toMatchObject({ cluster: 'blue', node: 'a' });
  });
});
