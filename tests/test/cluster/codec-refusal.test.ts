// The default codec refuses, at clientWrite, data it would not read back as written (a function, a
// Map, a BigInt, ...): the write rejects with INVALID_REQUEST naming the path, and the log is
// untouched on every node.
import type { Raft } from '@flotilla/raft';
import { ErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cmd, type Resp, TestCluster } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  await c?.shutdown();
  c = null;
});

async function rejection(p: Promise<unknown>): Promise<{ code?: string; path?: string }> {
  return p.then(
    () => ({}),
    (e: unknown) => e as { code?: string; path?: string },
  );
}

describe('the default codec at clientWrite', () => {
  it('refuses a value that does not round-trip; nothing enters the log', async () => {
    c = await TestCluster.create(['a', 'b', 'c']);
    const l: Raft<Cmd, Resp> = c.raft(await c.leader());
    const before = l.metrics.current.lastLogIndex ?? 0;

    const fn = await rejection(l.clientWrite((() => 1) as unknown as Cmd));
    expect(fn).toMatchObject({ code: ErrorCode.InvalidRequest, path: 'data' });
    const nested = await rejection(
      l.clientWrite({ key: 'k', value: 1, extra: { seen: new Map([['a', 1]]) } } as unknown as Cmd),
    );
    expect(nested).toMatchObject({ code: ErrorCode.InvalidRequest, path: 'data.extra.seen' });
    const big = await rejection(l.clientWrite({ key: 'k', value: 1n } as unknown as Cmd));
    expect(big).toMatchObject({ code: ErrorCode.InvalidRequest, path: 'data.value' });
    const many = await rejection(
      l.clientWriteMany([
        { key: 'ok', value: 1 },
        { key: 'nan', value: Number.NaN },
      ]),
    );
    expect(many).toMatchObject({ code: ErrorCode.InvalidRequest, path: 'data.value' });
    expect(l.metrics.current.lastLogIndex).toBe(before);

    // The next write takes the very next index, and every node applies it: no entry was left behind.
    const w = await l.clientWrite({ key: 'z', value: 1 });
    expect(w.logId.index).toBe(before + 1);
    await c.applied(before + 1);
    for (const n of c.nodes.values()) {
      expect(n.applied.map((a) => a.cmd)).toEqual([{ key: 'z', value: 1 }]);
      expect(n.raft.metrics.current.lastLogIndex).toBe(before + 1);
    }
  });
});
