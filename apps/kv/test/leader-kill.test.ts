import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.ts';
import { KV_TRANSPORTS } from '../src/node.ts';
import { TEST_NODE_ARGS, transportArgs } from './helpers.ts';

// The README demo, smaller, once per Raft transport: 3 processes, writes, SIGKILL of the leader, a
// new leader, more writes, the old leader restarted and caught up, every acknowledged write read
// back on every node.
describe.each(KV_TRANSPORTS)('leader kill (3 real processes, %s transport)', (transport) => {
  it('a new leader takes over, the old one catches up, nothing acknowledged is lost', async () => {
    let text = '';
    const s = await runDemo({
      writesBefore: 300,
      writesAfter: 150,
      concurrency: 8,
      nodeArgs: [...TEST_NODE_ARGS, ...transportArgs(transport)],
      out: { write: (t: string) => void (text += t), isTTY: false },
    });
    expect({ lost: s.lost, acked: s.acked }, text).toEqual({ lost: 0, acked: 450 - s.failed });
    expect(s.acked).toBeGreaterThanOrEqual(400);
    expect(s.newLeader).not.toBe(s.oldLeader);
  }, 120_000);
});
