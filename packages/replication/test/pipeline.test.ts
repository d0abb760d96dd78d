import { logIdEquals } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { entries, lastMatching, lastOf, rig } from './harness.ts';

const N = 2_000;

/** Virtual ms to get `N` entries acknowledged. */
async function timeToReplicate(streaming: boolean, delayMs: number) {
  const r = rig({
    leaderLog: entries(1, 0, N),
    net: { delayMs, streaming },
    config: { maxPayloadEntries: 20, maxInflightRequests: 16 },
  });
  r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
  const done = await r.clock.runUntil(() => logIdEquals(lastMatching(r.core) ?? null, lastOf(r.leaderLog)));
  expect(done).toBe(true);
  r.stream.close();
  return { ms: r.clock.now(), r };
}

describe('pipelining', () => {
  it('keeps at least 4 requests in flight at 5 ms per message', async () => {
    const { r } = await timeToReplicate(true, 5);
    expect(r.net.maxInflight).toBeGreaterThanOrEqual(4);
    expect(r.stream.stats.maxInflightRequests).toBeGreaterThanOrEqual(4);
    expect(r.net.maxInflight).toBeLessThanOrEqual(16);
    expect(r.follower.log).toEqual(r.leaderLog);
    expect(r.follower.gaps).toBe(0);
  });

  it('acks at least 5x the entries per virtual second of the sequential fallback', async () => {
    const piped = await timeToReplicate(true, 5);
    const seq = await timeToReplicate(false, 5);
    expect(seq.r.net.maxInflight).toBe(1);
    expect(seq.r.follower.log).toEqual(seq.r.leaderLog);
    const pipedRate = N / piped.ms;
    const seqRate = N / seq.ms;
    expect(pipedRate / seqRate).toBeGreaterThanOrEqual(5);
  });

  it('respects maxInflightBytes', async () => {
    const r = rig({
      leaderLog: entries(1, 0, 200, 100),
      net: { delayMs: 5 },
      config: { maxPayloadEntries: 10, maxInflightRequests: 64, maxInflightBytes: 2_500 },
    });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    expect(await r.clock.runUntil(() => logIdEquals(lastMatching(r.core) ?? null, lastOf(r.leaderLog)))).toBe(
      true,
    );
    // 1000 bytes per request: a third request would pass 2500 only after the window filled.
    expect(r.net.maxInflight).toBe(3);
    r.stream.close();
  });

  it('works when the network coalesces acks (fewer replies than requests)', async () => {
    const r = rig({
      leaderLog: entries(1, 0, 500),
      net: { delayMs: 1, coalesceAcks: true },
      config: { maxPayloadEntries: 5 },
    });
    r.stream.replicate({ inflightId: 3, payload: { type: 'logsSince', prev: null } });
    expect(await r.clock.runUntil(() => logIdEquals(lastMatching(r.core) ?? null, lastOf(r.leaderLog)))).toBe(
      true,
    );
    const progress = r.core.ofType('progress');
    expect(progress.length).toBeLessThan(100);
    expect(r.follower.log).toEqual(r.leaderLog);
    // Watermarks only go up, and each names the inflight.
    for (let i = 1; i < progress.length; i++)
      expect((progress[i]?.matching?.index ?? -1) > (progress[i - 1]?.matching?.index ?? -1)).toBe(true);
    expect(progress.every((p) => p.inflightId === 3 && p.streamId === 1)).toBe(true);
    r.stream.close();
  });

  it('an ack inside a request keeps the pipeline going; the next request then conflicts (never a gap)', async () => {
    const r = rig({ leaderLog: entries(1, 0, 100), net: { delayMs: 1 }, config: { maxPayloadEntries: 10 } });
    r.net.cutRequest = (n) => n === 2;
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    expect(await r.clock.runUntil(() => r.core.ofType('conflict').length > 0)).toBe(true);
    await r.clock.run(100);
    expect(r.follower.gaps).toBe(0);
    // The follower holds a prefix of the leader's log, nothing else: requests after the cut one
    // were refused by the follower's prevLogId check.
    expect(r.leaderLog.slice(0, r.follower.log.length)).toEqual(r.follower.log);
    expect(r.follower.log.length).toBe(25);
    // The ack at 24 lands inside request (19, 29]: reported as progress, and the stream went on
    // (as openraft's pipeline) until the follower refused the next request's prevLogId 29.
    expect(lastMatching(r.core)).toEqual({ term: 1, index: 24 });
    expect(r.core.ofType('transportError')).toHaveLength(0);
    const [conflict] = r.core.ofType('conflict');
    expect(conflict).toMatchObject({ inflightId: 1, logId: { term: 1, index: 29 } });
    expect(r.stream.backoffMs).toBe(0);
    expect(r.stream.state).toBe('idle');
  });

  it('an ack inside a request that the follower completes later keeps one stream to the end', async () => {
    // A network whose replies are not 1:1 with requests: the first reply of each request acks only
    // part of it, then the rest is acknowledged by the next reply.
    const r = rig({ leaderLog: entries(1, 0, 30), net: { delayMs: 1 }, config: { maxPayloadEntries: 10 } });
    const net = r.net;
    const inner = net.streamAppend?.bind(net);
    if (inner === undefined) throw new Error('streaming network expected');
    net.streamAppend = async function* (input, opts) {
      for await (const res of inner(input, opts)) {
        if (res.type === 'matched' && res.matching !== null && res.matching.index >= 5)
          yield { type: 'matched', matching: { term: 1, index: res.matching.index - 5 } };
        yield res;
      }
    };
    r.stream.replicate({ inflightId: 4, payload: { type: 'logsSince', prev: null } });
    expect(await r.clock.runUntil(() => logIdEquals(lastMatching(r.core) ?? null, lastOf(r.leaderLog)))).toBe(
      true,
    );
    expect(net.streamsOpened).toBe(1);
    expect(r.core.events.every((e) => e.type === 'progress' && e.inflightId === 4)).toBe(true);
    // Mid-request watermarks were reported (4, 14, 24 among them), each under the one inflight.
    const seen = r.core.ofType('progress').map((p) => p.matching?.index);
    expect(seen).toEqual(expect.arrayContaining([4, 14, 24, 29]));
    expect(r.follower.log).toEqual(r.leaderLog);
    r.stream.close();
  });

  it('streams new entries as they become readable, and commit-only changes as empty requests', async () => {
    const r = rig({ leaderLog: entries(1, 0, 10), net: { delayMs: 2 } });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(50);
    expect(r.follower.log).toEqual(r.leaderLog);
    r.append(entries(1, 10, 5));
    await r.clock.run(50);
    expect(r.follower.log).toEqual(r.leaderLog);
    const before = r.net.requestsSent;
    const reads = r.reader.reads;
    r.committed.set({ term: 1, index: 14 });
    await r.clock.run(50);
    expect(r.net.requestsSent).toBe(before + 1);
    expect(r.reader.reads).toBe(reads);
    expect(r.follower.committed).toEqual({ term: 1, index: 14 });
    expect(lastMatching(r.core)).toEqual({ term: 1, index: 14 });
    r.stream.close();
  });

  it('lets the next entries carry a new commit index instead of a commit-only request', async () => {
    const r = rig({ leaderLog: entries(1, 0, 10), net: { delayMs: 1 }, config: { heartbeatIntervalMs: 40 } });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(50);
    expect(r.follower.log).toEqual(r.leaderLog);
    const before = r.net.requestsSent;
    r.committed.set({ term: 1, index: 9 });
    // Nothing goes for the commit index alone before a quarter of the heartbeat interval.
    await r.clock.run(9);
    expect(r.net.requestsSent).toBe(before);
    r.append(entries(1, 10, 2));
    await r.clock.run(50);
    // One request: the entries, carrying the commit index; no commit-only request after them.
    expect(r.net.requestsSent).toBe(before + 1);
    expect(r.follower.log).toEqual(r.leaderLog);
    expect(r.follower.committed).toEqual({ term: 1, index: 9 });
    // Alone, the commit index goes after a quarter of the heartbeat interval.
    r.committed.set({ term: 1, index: 11 });
    await r.clock.run(9);
    expect(r.net.requestsSent).toBe(before + 1);
    await r.clock.run(5);
    expect(r.net.requestsSent).toBe(before + 2);
    await r.clock.run(5);
    expect(r.follower.committed).toEqual({ term: 1, index: 11 });
    r.stream.close();
  });

  it('does no log reads and sends nothing while idle, over many heartbeat intervals', async () => {
    const r = rig({ leaderLog: entries(1, 0, 30), net: { delayMs: 1 } });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(100);
    expect(r.follower.log).toEqual(r.leaderLog);
    const reads = r.reader.reads;
    const sent = r.net.requestsSent;
    expect(reads).toBeGreaterThan(0);
    await r.clock.run(50 * 200); // 200 heartbeat intervals
    expect(r.reader.reads).toBe(reads);
    expect(r.net.requestsSent).toBe(sent);
    expect(r.clock.pendingTimers).toBe(0);
    expect(r.stream.state).toBe('running');
    r.stream.close();
  });
});
