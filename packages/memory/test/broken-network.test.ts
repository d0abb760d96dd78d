import { failedCases, type NetworkHarness, networkCases, runCases } from '@flotilla/testkit';
import type { RaftNetwork, StreamAppendResult } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { MemoryRouter } from '../src/index.ts';

function harness(wrapClient: (c: RaftNetwork) => RaftNetwork): NetworkHarness {
  return {
    setup: async (handler) => {
      const router = new MemoryRouter();
      router.register('t', handler);
      return {
        client: wrapClient(router.factory('s').newClient('t', { addr: 't' })),
        stopTarget: async () => router.unregister('t'),
      };
    },
  };
}

async function failures(wrapClient: (c: RaftNetwork) => RaftNetwork): Promise<string[]> {
  return failedCases(await runCases(networkCases(harness(wrapClient))));
}

/** Swaps each pair of consecutive stream results. */
async function* swapPairs(it: AsyncIterable<StreamAppendResult>): AsyncIterable<StreamAppendResult> {
  let held: StreamAppendResult | null = null;
  for await (const r of it) {
    if (held === null) held = r;
    else {
      yield r;
      yield held;
      held = null;
    }
  }
  if (held !== null) yield held;
}

describe('the network suite rejects broken networks', () => {
  it('passes the memory router (control)', async () => {
    expect(await failures((c) => c)).toEqual([]);
  });

  it('fails a network that reorders stream replies', async () => {
    const failed = await failures((c) => ({
      ...c,
      streamAppend: (input, opts) => swapPairs(c.streamAppend!(input, opts)),
    }));
    expect(failed).toContain(
      'streamAppend: every per-request ack is delivered in order (or coalesced, never reordered)',
    );
  });

  it('fails a network that hides the error taxonomy', async () => {
    const plain = <T>(p: Promise<T>): Promise<T> =>
      p.catch((e: unknown) => {
        throw new Error(`failed: ${String(e)}`);
      });
    const failed = await failures((c) => ({
      ...c,
      vote: (r, o) => plain(c.vote(r, o)),
      appendEntries: (r, o) => plain(c.appendEntries(r, o)),
    }));
    expect(failed).toEqual(
      expect.arrayContaining([
        'a handler error becomes a RemoteError carrying its code',
        'a plain handler error becomes a RemoteError',
        'a call to a stopped target fails with UnreachableError',
        'a handler that never answers makes the call time out',
      ]),
    );
  });

  it('fails a network that splits requests', async () => {
    const failed = await failures((c) => ({
      ...c,
      appendEntries: (r, o) =>
        r.entries.length > 100
          ? c.appendEntries({ ...r, entries: r.entries.slice(0, 100) }, o)
          : c.appendEntries(r, o),
    }));
    expect(failed).toEqual(['appendEntries: a large request arrives whole']);
  });

  it('fails a network whose stream keeps going after a conflict', async () => {
    const failed = await failures((c) => ({
      ...c,
      streamAppend: async function* (input, opts) {
        for await (const r of c.streamAppend!(input, opts))
          yield r.type === 'conflict' ? { type: 'matched', matching: null } : r;
      },
    }));
    expect(failed).toContain('streamAppend: a conflict ends the stream');
  });
});
