import type { AppendEntriesRequest, AppendEntriesResponse, StreamAppendResult } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { serveStreamAppend } from './serve.ts';

const vote = { term: 1, nodeId: 'L', committed: true };
const req = (i: number): AppendEntriesRequest => ({
  vote,
  prevLogId: i === 0 ? null : { term: 1, index: i - 1 },
  entries: [{ logId: { term: 1, index: i }, payload: { type: 'blank' } }],
  leaderCommit: null,
});
async function* from(reqs: AppendEntriesRequest[]) {
  yield* reqs;
}
async function collect(it: AsyncIterable<StreamAppendResult>) {
  const out: StreamAppendResult[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** A handler whose replies resolve only when the test flushes them. */
function manualHandler(
  answer: (r: AppendEntriesRequest) => AppendEntriesResponse = () => ({ type: 'success' }),
) {
  const pending: (() => void)[] = [];
  let maxPending = 0;
  const handle = (r: AppendEntriesRequest) =>
    new Promise<AppendEntriesResponse>((resolve) => {
      pending.push(() => resolve(answer(r)));
      maxPending = Math.max(maxPending, pending.length);
    });
  return {
    handle,
    flush: () => {
      for (const f of pending.splice(0)) f();
    },
    get pending() {
      return pending.length;
    },
    get maxPending() {
      return maxPending;
    },
  };
}

describe('serveStreamAppend', () => {
  it('answers in order, merging replies that are ready together', async () => {
    const out = await collect(serveStreamAppend(from([0, 1, 2].map(req)), async () => ({ type: 'success' })));
    expect(out.at(-1)).toEqual({ type: 'matched', matching: { term: 1, index: 2 } });
    expect(out.length).toBeLessThanOrEqual(3);
    expect(out.every((r) => r.type === 'matched')).toBe(true);
  });

  it('keeps at most `window` requests unanswered', async () => {
    const h = manualHandler();
    const it = serveStreamAppend(from(Array.from({ length: 20 }, (_, i) => req(i))), h.handle, { window: 4 });
    const results = collect(it);
    for (let round = 0; round < 10; round++) {
      await new Promise((r) => setImmediate(r));
      h.flush();
    }
    const out = await results;
    expect(h.maxPending).toBe(4);
    expect(out.at(-1)).toEqual({ type: 'matched', matching: { term: 1, index: 19 } });
  });

  it('replies only after the handler resolved (entries flushed)', async () => {
    const h = manualHandler();
    const it = serveStreamAppend(from([req(0)]), h.handle)[Symbol.asyncIterator]();
    let got: IteratorResult<StreamAppendResult> | null = null;
    const p = it.next().then((r) => (got = r));
    await new Promise((r) => setImmediate(r));
    expect(got).toBeNull();
    h.flush();
    await p;
    expect(got).toEqual({ done: false, value: { type: 'matched', matching: { term: 1, index: 0 } } });
  });

  it('ends after the first conflict, reporting its prevLogId', async () => {
    const out = await collect(
      serveStreamAppend(from([0, 1, 2, 3].map(req)), async (r) =>
        r.prevLogId?.index === 1 ? { type: 'conflict' } : { type: 'success' },
      ),
    );
    expect(out.at(-1)).toEqual({ type: 'conflict', logId: { term: 1, index: 1 } });
    expect(out.filter((r) => r.type === 'conflict')).toHaveLength(1);
  });

  it('ends after a higher vote', async () => {
    const higher = { term: 3, nodeId: 'X', committed: false };
    const out = await collect(
      serveStreamAppend(from([0, 1].map(req)), async () => ({ type: 'higherVote', vote: higher })),
    );
    expect(out).toEqual([{ type: 'higherVote', vote: higher }]);
  });

  it('throws a handler failure and refuses a bad window', async () => {
    await expect(
      collect(
        serveStreamAppend(from([req(0)]), async () => {
          throw new Error('flush failed');
        }),
      ),
    ).rejects.toThrow('flush failed');
    await expect(
      collect(serveStreamAppend(from([]), async () => ({ type: 'success' }), { window: 0 })),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
