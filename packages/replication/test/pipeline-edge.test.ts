import { logIdEquals } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { entries, lastMatching, lastOf, rig } from './harness.ts';

describe('pipeline edge cases', () => {
  it('leaves no listener behind over many idle/active cycles', async () => {
    const r = rig({ leaderLog: entries(5, 0, 1), net: { delayMs: 1 } });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    for (let i = 0; i < 200; i++) {
      r.append(entries(5, r.leaderLog.length, 1));
      if (i % 3 === 0) r.committed.set(r.leaderLog[r.leaderLog.length - 2]?.logId ?? null);
      await r.clock.run(3);
    }
    expect(r.follower.log).toEqual(r.leaderLog);
    expect(r.ioSubmitted.listenerCount).toBeLessThanOrEqual(1);
    expect(r.committed.listenerCount).toBeLessThanOrEqual(1);
    expect(r.ioAccepted.listenerCount).toBeLessThanOrEqual(1);
    r.stream.close();
    await r.stream.done;
    expect(r.ioSubmitted.listenerCount + r.committed.listenerCount + r.ioAccepted.listenerCount).toBe(0);
  });

  it('accepts a reader that returns only a prefix of each range', async () => {
    const r = rig({ leaderLog: entries(5, 0, 50), net: { delayMs: 1 }, config: { maxPayloadEntries: 20 } });
    r.reader.maxPerRead = 3;
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    expect(await r.clock.runUntil(() => logIdEquals(lastMatching(r.core) ?? null, lastOf(r.leaderLog)))).toBe(
      true,
    );
    expect(r.follower.log).toEqual(r.leaderLog);
    expect(r.stream.stats.entriesSent / r.stream.stats.requestsSent).toBeLessThanOrEqual(3);
    expect(r.stream.stats.requestsSent).toBeGreaterThanOrEqual(17);
    r.stream.close();
  });

  it('sequential fallback: a partial success ends the stream; the next starts at its watermark', async () => {
    const r = rig({
      leaderLog: entries(5, 0, 40),
      net: { delayMs: 1, streaming: false },
      config: { maxPayloadEntries: 10 },
    });
    r.net.cutRequest = (n) => n === 1;
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(100);
    // As openraft: a result stream that ran out after progress goes on from the last ack, in the
    // same inflight, with no error and no back-off.
    expect(r.core.ofType('transportError')).toHaveLength(0);
    expect(r.core.ofType('progress').map((p) => p.matching?.index)).toEqual([9, 14, 24, 34, 39]);
    expect(r.core.events.every((e) => e.type === 'progress' && e.inflightId === 1)).toBe(true);
    expect(r.follower.log).toEqual(r.leaderLog);
    expect(r.stream.backoffMs).toBe(0);
    r.stream.close();
  });

  it('a stream that ends without moving the watermark is a transport error', async () => {
    const r = rig({ leaderLog: entries(5, 0, 10), net: { delayMs: 1 } });
    // A network that ends every result stream before any reply.
    r.net.streamAppend = async function* () {};
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(20);
    const [err] = r.core.ofType('transportError');
    expect(err?.error.message).toContain('unacknowledged');
    expect(r.core.ofType('progress')).toHaveLength(0);
    r.stream.close();
  });

  it('a follower that keeps accepting nothing is backed off, not retried at once forever', async () => {
    const r = rig({ leaderLog: entries(5, 0, 10), net: { delayMs: 1 } });
    // Each result stream answers once, acknowledging only what the follower holds (nothing), then
    // ends: a partial success of zero entries, as the sequential fallback reports it.
    r.net.streamAppend = async function* (reqs) {
      for await (const _ of reqs) {
        yield { type: 'matched' as const, matching: null };
        return;
      }
    };
    // The engine sends again after each transport error; the zero-progress acks must not clear the
    // error count, so after errorsBeforeBackoff (10) immediate retries the stream backs off.
    const delays: number[] = [];
    for (let i = 1; i <= 12; i++) {
      r.stream.replicate({ inflightId: i, payload: { type: 'logsSince', prev: null } });
      await r.clock.runUntil(() => r.core.ofType('transportError').length === i);
      delays.push(r.stream.backoffMs);
    }
    expect(delays.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(delays[10]).toBeGreaterThan(0);
    r.stream.close();
  });
});
