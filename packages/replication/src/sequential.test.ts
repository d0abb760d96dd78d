import type { AppendEntriesRequest, AppendEntriesResponse, StreamAppendResult } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { sequentialStreamAppend } from './sequential.ts';

const vote = { term: 1, nodeId: 'L', committed: true };
const req = (i: number): AppendEntriesRequest => ({
  vote,
  prevLogId: i === 0 ? null : { term: 1, index: i - 1 },
  entries: [{ logId: { term: 1, index: i }, payload: { type: 'blank' } }],
  leaderCommit: null,
});

async function run(answers: AppendEntriesResponse[], n: number) {
  let inflight = 0;
  let maxInflight = 0;
  let pulled = 0;
  async function* input() {
    for (let i = 0; i < n; i++) {
      pulled += 1;
      yield req(i);
    }
  }
  const network = {
    appendEntries: async (_r: AppendEntriesRequest): Promise<AppendEntriesResponse> => {
      inflight += 1;
      maxInflight = Math.max(maxInflight, inflight);
      await new Promise((r) => setImmediate(r));
      inflight -= 1;
      return answers.shift() ?? { type: 'success' };
    },
  };
  const out: StreamAppendResult[] = [];
  for await (const r of sequentialStreamAppend(network, input())) out.push(r);
  return { out, maxInflight, pulled };
}

describe('sequentialStreamAppend', () => {
  it('sends one request at a time and acks each', async () => {
    const { out, maxInflight } = await run([], 3);
    expect(maxInflight).toBe(1);
    expect(out).toEqual([0, 1, 2].map((i) => ({ type: 'matched', matching: { term: 1, index: i } })));
  });

  it('ends on a partial success, after reporting its watermark', async () => {
    const { out, pulled } = await run(
      [{ type: 'success' }, { type: 'partialSuccess', matching: { term: 1, index: 0 } }],
      5,
    );
    expect(out.at(-1)).toEqual({ type: 'matched', matching: { term: 1, index: 0 } });
    expect(out).toHaveLength(2);
    expect(pulled).toBe(2);
  });

  it('turns a conflict into the stream form and ends', async () => {
    const { out } = await run([{ type: 'success' }, { type: 'conflict' }], 5);
    expect(out.at(-1)).toEqual({ type: 'conflict', logId: { term: 1, index: 0 } });
  });

  it('refuses a conflict on a request that starts at index 0', async () => {
    await expect(run([{ type: 'conflict' }], 2)).rejects.toMatchObject({ code: 'REMOTE' });
  });
});
