import {
  type AppendEntriesRequest,
  compareLogId,
  ErrorCode,
  NotLeaderError,
  type StreamAppendResult,
  sleep,
  systemClock,
} from '@flotilla/types';
import { expect } from 'vitest';
import type { ConformanceCase } from '../case.ts';
import { expectRejectCode, leaderVote, summarizeBytes, within } from '../testing/fixtures.ts';
import { appendRequest } from './cases-unary.ts';
import { type NetworkContext, never, withNetwork } from './context.ts';
import { requestLastLogId } from './handler.ts';
import type { NetworkHarness } from './harness.ts';

/** `n` consecutive requests of `per` entries each, starting at index 0. */
function requests(n: number, per = 2, term = 1): AppendEntriesRequest[] {
  return Array.from({ length: n }, (_, i) => appendRequest(term, i * per - 1, per));
}

async function* yieldAll<T>(xs: readonly T[], gapMs = 0): AsyncIterable<T> {
  for (const x of xs) {
    if (gapMs > 0) await sleep(systemClock, gapMs);
    yield x;
  }
}

/** Requests forever (the stream must stop pulling after it ends); counts what was pulled. */
function endless(pulled: { n: number }): AsyncIterable<AppendEntriesRequest> {
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; ; i++) {
        pulled.n++;
        yield appendRequest(1, i - 1, 1);
        if (i % 8 === 7) await sleep(systemClock, 1);
      }
    },
  };
}

/** Collects every result; throws what the result iterator throws. */
async function collect(it: AsyncIterable<StreamAppendResult>, ms = 10_000): Promise<StreamAppendResult[]> {
  const out: StreamAppendResult[] = [];
  await within(
    (async () => {
      for await (const r of it) out.push(r);
    })(),
    ms,
    'the stream did not end',
  );
  return out;
}

/** Checks that matched watermarks never go backwards. */
function expectMonotonic(results: readonly StreamAppendResult[]): void {
  let last = null;
  for (const r of results) {
    if (r.type !== 'matched') continue;
    expect(compareLogId(r.matching, last), 'matched watermarks go backwards').toBeGreaterThanOrEqual(0);
    last = r.matching;
  }
}

/** `streamAppend` cases: order, cumulative acks, whole requests, ends, errors, timeouts, aborts. */
export function streamCases(harness: NetworkHarness): ConformanceCase[] {
  const c = (
    name: string,
    run: (
      ctx: NetworkContext & { stream: NonNullable<NetworkContext['client']['streamAppend']> },
    ) => Promise<void>,
  ): ConformanceCase => ({
    name: `streamAppend: ${name}`,
    run: () =>
      withNetwork(harness, async (ctx) => {
        const fn = ctx.client.streamAppend;
        expect(fn, 'the client has no streamAppend').toBeTypeOf('function');
        await run({ ...ctx, stream: fn!.bind(ctx.client) });
      }),
  });
  return [
    c('requests arrive in order and whole; acks come back in order', async ({ stream, handler }) => {
      const reqs = requests(40, 3);
      const results = await collect(stream(yieldAll(reqs), { timeoutMs: 5_000 }));
      expect(summarizeBytes(handler.streamed)).toEqual(summarizeBytes(reqs));
      expectMonotonic(results);
      expect(results.length).toBeGreaterThan(0);
      expect(results.every((r) => r.type === 'matched')).toBe(true);
      expect(results[results.length - 1]).toEqual({ type: 'matched', matching: requestLastLogId(reqs[39]!) });
    }),
    c(
      'every per-request ack is delivered in order (or coalesced, never reordered)',
      async ({ stream, handler }) => {
        const reqs = requests(30, 1);
        handler.onStream = async function* (input, _o, self) {
          for await (const req of input) {
            self.streamed.push(req);
            // Replies spaced out so a transport has time to reorder them if it would.
            await sleep(systemClock, req.entries[0]!.logId.index % 3);
            yield { type: 'matched', matching: requestLastLogId(req) };
          }
        };
        const results = await collect(stream(yieldAll(reqs)));
        expectMonotonic(results);
        const seen = results.map((r) => (r.type === 'matched' ? (r.matching?.index ?? -1) : -2));
        expect(
          seen.every((x, i) => i === 0 || x > seen[i - 1]!),
          `acks ${seen.join(',')}`,
        ).toBe(true);
        expect(seen[seen.length - 1]).toBe(29);
      },
    ),
    c('one reply acknowledges many requests', async ({ stream, handler }) => {
      const reqs = requests(5, 2);
      handler.onStream = async function* (input, _o, self) {
        for await (const req of input) {
          self.streamed.push(req);
          if (self.streamed.length === 5) yield { type: 'matched', matching: requestLastLogId(req) };
        }
      };
      const results = await collect(stream(yieldAll(reqs)));
      expect(results).toEqual([{ type: 'matched', matching: { term: 1, index: 9 } }]);
      expect(summarizeBytes(handler.streamed)).toEqual(summarizeBytes(reqs));
    }),
    c('large requests arrive whole', async ({ stream, handler }) => {
      const reqs = [appendRequest(2, -1, 64, 16_384), appendRequest(2, 63, 64, 16_384)];
      const results = await collect(stream(yieldAll(reqs), { timeoutMs: 10_000 }));
      expect(summarizeBytes(handler.streamed)).toEqual(summarizeBytes(reqs));
      expect(results[results.length - 1]).toEqual({ type: 'matched', matching: { term: 2, index: 127 } });
    }),
    c('a conflict ends the stream', async ({ stream, handler }) => {
      handler.onStream = async function* (input, _o, self) {
        for await (const req of input) {
          self.streamed.push(req);
          if (self.streamed.length === 3) {
            yield { type: 'conflict', logId: req.prevLogId! };
            return;
          }
          yield { type: 'matched', matching: requestLastLogId(req) };
        }
      };
      const pulled = { n: 0 };
      const results = await collect(stream(endless(pulled)));
      expect(results[results.length - 1]).toEqual({ type: 'conflict', logId: { term: 1, index: 1 } });
      expect(results.filter((r) => r.type === 'conflict').length).toBe(1);
      expectMonotonic(results);
      // A read already in flight when the stream ended may complete; nothing after it.
      await sleep(systemClock, 30);
      const after = pulled.n;
      await sleep(systemClock, 30);
      expect(pulled.n, 'the input is still being read after the stream ended').toBe(after);
    }),
    c('a higher vote ends the stream', async ({ stream, handler }) => {
      handler.onStream = async function* (input, _o, self) {
        for await (const req of input) {
          self.streamed.push(req);
          yield { type: 'higherVote', vote: leaderVote(7, 'n9') };
          return;
        }
      };
      const results = await collect(stream(endless({ n: 0 })));
      expect(results).toEqual([{ type: 'higherVote', vote: leaderVote(7, 'n9') }]);
    }),
    c('the stream ends when the input ends and all is acknowledged', async ({ stream, handler }) => {
      const results = await collect(stream(yieldAll(requests(4), 5)));
      expect(results[results.length - 1]).toEqual({ type: 'matched', matching: { term: 1, index: 7 } });
      await sleep(systemClock, 20);
      expect(handler.streamsClosed).toBe(handler.streamsOpened);
    }),
    c('an empty input ends with no results', async ({ stream }) => {
      expect(await collect(stream(yieldAll([])))).toEqual([]);
    }),
    c('a handler error is thrown from the results as a RemoteError', async ({ stream, handler }) => {
      handler.onStream = async function* (input, _o, self) {
        for await (const req of input) {
          self.streamed.push(req);
          if (self.streamed.length === 2) throw new NotLeaderError();
          yield { type: 'matched', matching: requestLastLogId(req) };
        }
      };
      await expectRejectCode(collect(stream(yieldAll(requests(5)))), ErrorCode.Remote, 'stream');
    }),
    c('a stream to a stopped target throws UnreachableError', async ({ stream, fixture }) => {
      await fixture.stopTarget();
      await expectRejectCode(
        collect(stream(yieldAll(requests(2)), { timeoutMs: 5_000 })),
        ErrorCode.Unreachable,
        'stream',
      );
    }),
    c(
      'no reply within the timeout while requests are outstanding throws RpcTimeoutError',
      async ({ stream, handler }) => {
        handler.onStream = async function* (input, _o, self) {
          for await (const req of input) self.streamed.push(req);
          yield* [];
          await never();
        };
        async function* slowInput(): AsyncIterable<AppendEntriesRequest> {
          yield* requests(2);
          await never();
        }
        await expectRejectCode(
          collect(stream(slowInput(), { timeoutMs: 150 })),
          ErrorCode.RpcTimeout,
          'stream',
        );
      },
    ),
    c('an idle stream with nothing outstanding does not time out', async ({ stream, handler }) => {
      const results = await collect(stream(yieldAll(requests(3), 250), { timeoutMs: 100 }));
      expect(results[results.length - 1]).toEqual({ type: 'matched', matching: { term: 1, index: 5 } });
      expect(handler.streamed.length).toBe(3);
    }),
    c('aborting the signal ends the stream with an error', async ({ stream, handler }) => {
      handler.onStream = async function* (input, _o, self) {
        for await (const req of input) {
          self.streamed.push(req);
          yield { type: 'matched', matching: requestLastLogId(req) };
        }
      };
      const ac = new AbortController();
      const it = stream(endless({ n: 0 }), { signal: ac.signal })[Symbol.asyncIterator]();
      const first = await within(it.next(), 5_000, 'first result');
      expect(first.done).toBe(false);
      ac.abort(new Error('stop'));
      let threw = false;
      try {
        await within(
          (async () => {
            for (;;) if ((await it.next()).done) break;
          })(),
          5_000,
          'the aborted stream did not end',
        );
      } catch {
        threw = true;
      }
      expect(threw, 'an aborted stream throws from its results').toBe(true);
      await sleep(systemClock, 50);
      expect(handler.streamsClosed, 'the server side of an aborted stream ends').toBe(handler.streamsOpened);
    }),
  ];
}
