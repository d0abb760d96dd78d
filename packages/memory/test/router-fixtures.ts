/**
 * Private fixtures of the router and store unit tests: a virtual scheduler, a recording RPC handler
 * and `nextTurn()`. Never shipped (outside `src/`), never imported by the package's sources.
 */
import type { AppendEntriesRequest, RaftRpcHandler, StreamAppendResult } from '@flotilla/types';
import type { RouterScheduler } from '../src/router.ts';

/** A handler for router tests: records requests, acks every streamed request, echoes votes. */
export function recordingHandler(): RaftRpcHandler & {
  appends: AppendEntriesRequest[];
  streamed: AppendEntriesRequest[];
} {
  const appends: AppendEntriesRequest[] = [];
  const streamed: AppendEntriesRequest[] = [];
  return {
    appends,
    streamed,
    appendEntries: async (req) => {
      appends.push(req);
      return { type: 'success' };
    },
    vote: async (req) => ({ vote: req.vote, voteGranted: true, lastLogId: null }),
    installFullSnapshot: async (vote) => ({ vote }),
    transferLeader: async () => {},
    async *streamAppend(input): AsyncIterable<StreamAppendResult> {
      for await (const req of input) {
        streamed.push(req);
        yield { type: 'matched', matching: req.entries[req.entries.length - 1]?.logId ?? req.prevLogId };
      }
    },
  };
}

/** A virtual clock for deterministic router tests. */
export class VirtualScheduler implements RouterScheduler {
  /** Virtual now, in ms. */
  now = 0;
  #seq = 0;
  readonly #timers: { at: number; seq: number; fn: () => void }[] = [];

  /** @inheritDoc */
  setTimeout(fn: () => void, ms: number): () => void {
    const t = { at: this.now + ms, seq: this.#seq++, fn };
    this.#timers.push(t);
    return () => {
      const i = this.#timers.indexOf(t);
      if (i >= 0) this.#timers.splice(i, 1);
    };
  }

  /** Pending timers. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Advances virtual time by `ms`, running due timers in order and letting promise callbacks run. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    await nextTurn();
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const t = this.#timers[0];
      if (t === undefined || t.at > end) break;
      this.#timers.shift();
      this.now = t.at;
      t.fn();
      await nextTurn();
    }
    this.now = end;
  }
}

/** Resolves on the next event-loop turn, after every promise callback pending now has run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
