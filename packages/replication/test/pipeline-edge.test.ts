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

  it('sequential fallback: a partial success ends the stream early, reported after its progress', async () => {
    const r = rig({
      leaderLog: entries(5, 0, 40),
      net: { delayMs: 1, streaming: false },
      config: { maxPayloadEntries: 10 },
    });
    r.net.cutRequest = (n) => n === 1;
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(100);
    expect(r.core.events.map((e) => e.type)).toEqual(['progress', 'progress', 'transportError']);
    expect(lastMatching(r.core)).toEqual({ term: 5, index: 14 });
    expect(r.follower.log).toEqual(r.leaderLog.slice(0, 15));
    const [err] = r.core.ofType('transportError');
    expect(err?.backoffMs).toBe(50);
  });
});
