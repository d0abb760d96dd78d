import { hasErrorCode, logIdEquals, NetworkError } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { entries, lastMatching, lastOf, leaderVote, rig } from './harness.ts';

describe('leader change', () => {
  it('never sends entries read under an old leader', async () => {
    const r = rig({ leaderLog: entries(5, 0, 10), net: { delayMs: 1 }, config: { maxPayloadEntries: 4 } });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(20);
    expect(r.follower.log).toEqual(r.leaderLog);
    const sent = r.net.requestsSent;
    // New entries become readable, but the node's vote changes while they are being read.
    r.reader.onRead = () =>
      r.ioAccepted.set({ vote: { term: 6, nodeId: 'X', committed: false }, logId: null });
    r.leaderLog.push(...entries(5, 10, 4));
    r.ioSubmitted.set({ vote: leaderVote, logId: lastOf(r.leaderLog) });
    await r.clock.run(100);
    expect(r.reader.reads).toBeGreaterThan(0);
    expect(r.net.requestsSent).toBe(sent);
    expect(r.follower.log.length).toBe(10);
    expect(r.stream.state).toBe('closed');
    await r.stream.done;
    // A closed stream ignores commands.
    expect(r.stream.replicate({ inflightId: 2, payload: { type: 'logsSince', prev: null } })).toBe(false);
  });

  it.each([
    ['a pipeline', { type: 'logsSince', prev: null }],
    ['a fixed range', { type: 'logs', prev: null, last: { term: 5, index: 9 } }],
  ] as const)(
    'closes quietly when %s read fails because the next leader truncated the log meanwhile',
    async (_, payload) => {
      const r = rig({ leaderLog: entries(5, 0, 10), net: { delayMs: 1 } });
      // While the read runs, the node votes for a new leader whose log replaces ours.
      r.reader.onRead = () => {
        r.ioAccepted.set({ vote: { term: 6, nodeId: 'X', committed: true }, logId: null });
        r.leaderLog.length = 0;
      };
      r.stream.replicate({ inflightId: 1, payload });
      await r.clock.run(100);
      expect(r.reader.reads).toBe(1);
      expect(r.core.ofType('fatal')).toHaveLength(0);
      expect(r.net.requestsSent).toBe(0);
      expect(r.stream.state).toBe('closed');
    },
  );

  it('stops before reading when ioAccepted already names another leader', async () => {
    const r = rig({ leaderLog: entries(5, 0, 10), net: { delayMs: 1 } });
    r.ioAccepted.set({ vote: { term: 7, nodeId: 'Y', committed: true }, logId: null });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logs', prev: null, last: { term: 5, index: 3 } } });
    await r.clock.run(20);
    expect(r.reader.reads).toBe(0);
    expect(r.net.requestsSent).toBe(0);
    expect(r.stream.state).toBe('closed');
  });

  it('reports a higher vote from the follower and ends the inflight', async () => {
    const r = rig({ leaderLog: entries(5, 0, 3), net: { delayMs: 1 } });
    r.follower.vote = { term: 9, nodeId: 'Z', committed: true };
    r.stream.replicate({ inflightId: 4, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(20);
    expect(r.core.events).toEqual([
      {
        type: 'higherVote',
        target: 'F',
        streamId: 1,
        inflightId: 4,
        vote: { term: 9, nodeId: 'Z', committed: true },
      },
    ]);
    expect(r.stream.state).toBe('idle');
  });
});

describe('failures', () => {
  it('reports a storage read error once as fatal and never retries', async () => {
    const r = rig({ leaderLog: entries(5, 0, 10), net: { delayMs: 1 } });
    r.reader.failWith = new Error('disk on fire');
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(10_000);
    expect(r.reader.reads).toBe(1);
    const fatal = r.core.ofType('fatal');
    expect(fatal).toHaveLength(1);
    expect(hasErrorCode(fatal[0]?.error, 'STORAGE')).toBe(true);
    expect(r.stream.state).toBe('failed');
    // Later commands do nothing.
    expect(
      r.stream.replicate({
        inflightId: 2,
        payload: { type: 'logs', prev: null, last: { term: 5, index: 1 } },
      }),
    ).toBe(false);
    await r.clock.run(1_000);
    expect(r.reader.reads).toBe(1);
    expect(r.core.events).toHaveLength(1);
    await r.stream.done;
  });

  it('reports entries missing from the log (a range read) as fatal', async () => {
    const r = rig({ leaderLog: entries(5, 0, 3), net: { delayMs: 1 } });
    // The node says entries up to 7 are readable, but the log holds 0..2.
    r.ioSubmitted.set({ vote: leaderVote, logId: { term: 5, index: 7 } });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logs', prev: null, last: { term: 5, index: 7 } } });
    await r.clock.run(100);
    expect(r.core.ofType('fatal')).toHaveLength(1);
    expect(r.net.requestsSent).toBe(0);
  });

  it('backs off after a transport error, then recovers and clears the back-off', async () => {
    const r = rig({
      leaderLog: entries(5, 0, 20),
      net: { delayMs: 1 },
      config: { backoff: { initialMs: 100, maxMs: 400, multiplier: 2 } },
    });
    r.net.unreachable = true;
    let inflight = 1;
    const retryOnError = () => {
      // What the engine does: a new inflight after an error, starting where the follower matched.
      inflight += 1;
      r.stream.replicate({
        inflightId: inflight,
        payload: { type: 'logsSince', prev: lastMatching(r.core) ?? null },
      });
    };
    r.core.onEvent = (e) => {
      if (e.type === 'transportError') retryOnError();
    };
    r.stream.replicate({ inflightId: inflight, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(650);
    const errors = r.core.ofType('transportError');
    // 0 → error (100) → error at 100 (200) → error at 300 (400) → error at 700 would be next.
    expect(errors.map((e) => e.backoffMs)).toEqual([100, 200, 400]);
    expect(errors.map((e) => e.inflightId)).toEqual([1, 2, 3]);
    expect(hasErrorCode(errors[0]?.error, 'UNREACHABLE')).toBe(true);
    r.net.unreachable = false;
    expect(
      await r.clock.runUntil(() => logIdEquals(lastMatching(r.core) ?? null, lastOf(r.leaderLog)), 2_000),
    ).toBe(true);
    expect(r.follower.log).toEqual(r.leaderLog);
    expect(r.stream.backoffMs).toBe(0);
    // The retry pending at 650 still waited out its 400 ms back-off (sent at 700, acked 2 ms later).
    expect(r.core.ofType('transportError')).toHaveLength(3);
    expect(r.core.ofType('progress')[0]?.sentAt).toBe(700);
  });

  it('reports a broken stream as a transport error, retried at once (a transient error)', async () => {
    const r = rig({ leaderLog: entries(5, 0, 5), net: { delayMs: 1 } });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(20);
    r.net.breakStreams(new NetworkError('reset by peer'));
    await r.clock.run(5);
    const [err] = r.core.ofType('transportError');
    expect(err?.inflightId).toBe(1);
    expect(err?.error.message).toBe('reset by peer');
    expect(err?.backoffMs).toBe(0);
    expect(r.stream.state).toBe('idle');
  });

  it('times out a unary append that gets no answer', async () => {
    const r = rig({ leaderLog: entries(5, 0, 5), config: { appendTimeoutMs: 300 } });
    r.net.hang = true;
    r.stream.replicate({ inflightId: 1, payload: { type: 'logs', prev: null, last: { term: 5, index: 2 } } });
    await r.clock.run(299);
    expect(r.core.events).toHaveLength(0);
    await r.clock.run(2);
    const [err] = r.core.ofType('transportError');
    expect(hasErrorCode(err?.error, 'RPC_TIMEOUT')).toBe(true);
  });
});

describe('commands', () => {
  it('sends a fixed range as one request and reports it', async () => {
    const r = rig({ leaderLog: entries(5, 0, 10), net: { delayMs: 1 } });
    r.stream.replicate({ inflightId: 8, payload: { type: 'logs', prev: null, last: { term: 5, index: 6 } } });
    await r.clock.run(10);
    expect(r.net.requestsSent).toBe(1);
    expect(r.core.events).toEqual([
      {
        type: 'progress',
        target: 'F',
        streamId: 1,
        inflightId: 8,
        matching: { term: 5, index: 6 },
        sentAt: 0,
      },
    ]);
  });

  it('coalesces commands: only the latest runs', async () => {
    const r = rig({ leaderLog: entries(5, 0, 10), net: { delayMs: 1 } });
    r.stream.replicate({ inflightId: 1, payload: { type: 'logs', prev: null, last: { term: 5, index: 0 } } });
    r.stream.replicate({ inflightId: 2, payload: { type: 'logs', prev: null, last: { term: 5, index: 1 } } });
    r.stream.replicate({ inflightId: 3, payload: { type: 'logs', prev: null, last: { term: 5, index: 2 } } });
    expect(r.stream.inflightId).toBe(3);
    await r.clock.run(10);
    expect(r.core.events.map((e) => (e.type === 'progress' ? e.inflightId : -1))).toEqual([3]);
  });

  it('rejects malformed commands with typed errors', () => {
    const r = rig();
    expect(() =>
      r.stream.replicate({
        inflightId: 1,
        payload: { type: 'logs', prev: { term: 1, index: 5 }, last: { term: 1, index: 2 } },
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    expect(() => r.stream.replicate({ inflightId: 1, payload: { type: 'snapshot' } })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
    r.stream.close();
  });
});
