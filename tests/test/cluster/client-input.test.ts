import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cmd, TestCluster } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

describe('client input', () => {
  it('a write the codec cannot encode fails with InvalidRequest and nothing is appended', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l = c.raft(await c.leader());
    const circular: Record<string, unknown> = { key: 'x', value: 1 };
    circular.self = circular;
    const before = l.metrics.current.lastLogIndex;
    const one = await l.clientWrite(circular as unknown as Cmd).catch((e: unknown) => e);
    expect(one).toMatchObject({ code: ErrorCode.InvalidRequest });
    const many = await l
      .clientWriteMany([{ key: 'y', value: 1 }, circular as unknown as Cmd])
      .catch((e: unknown) => e);
    expect(many).toMatchObject({ code: ErrorCode.InvalidRequest });
    expect(l.metrics.current.lastLogIndex).toBe(before);
    const w = await l.clientWrite({ key: 'z', value: 1 });
    expect(w.logId.index).toBe((before ?? 0) + 1);
  });
});
