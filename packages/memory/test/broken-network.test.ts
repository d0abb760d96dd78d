import { failedCases, type NetworkHarness, networkCases, runCases } from '@flotilla/testkit';
import {
  type AppendEntriesRequest,
  hasErrorCode,
  NetworkError,
  type RaftNetwork,
  type StreamAppendResult,
  validateAppendEntriesRequest,
  validateInstallSnapshot,
  validateTransferLeaderRequest,
  validateVoteRequest,
} from '@flotilla/types';
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

/** The names of the malformed-request cases (`kind` filters by the RPC named after the prefix). */
function invalidCaseNames(kind = ''): string[] {
  return networkCases(harness((c) => c))
    .map((c) => c.name)
    .filter((n) => n.startsWith(`invalid request: ${kind}`));
}

/** Throws `NetworkError` instead of sending a request `check` refuses. */
function refuseLocally<T>(check: () => unknown, send: () => Promise<T>): Promise<T> {
  try {
    check();
  } catch (err) {
    return Promise.reject(new NetworkError('refused before sending', { cause: err }));
  }
  return send();
}

async function* checkedInput(
  input: AsyncIterable<AppendEntriesRequest>,
): AsyncIterable<AppendEntriesRequest> {
  for await (const req of input) {
    try {
      yield validateAppendEntriesRequest(req);
    } catch (err) {
      throw new NetworkError('refused before sending', { cause: err });
    }
  }
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
        Array.isArray(r.entries) && r.entries.length > 100
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

  it('fails a network that refuses malformed requests itself instead of delivering them', async () => {
    const failed = await failures((c) => ({
      ...c,
      appendEntries: (r, o) =>
        refuseLocally(
          () => validateAppendEntriesRequest(r),
          () => c.appendEntries(r, o),
        ),
      vote: (r, o) =>
        refuseLocally(
          () => validateVoteRequest(r),
          () => c.vote(r, o),
        ),
      transferLeader: (r, o) =>
        refuseLocally(
          () => validateTransferLeaderRequest(r),
          () => c.transferLeader!(r, o),
        ),
      fullSnapshot: (v, s, o) =>
        refuseLocally(
          () => validateInstallSnapshot(v, s.meta),
          () => c.fullSnapshot(v, s, o),
        ),
      streamAppend: (input, opts) => c.streamAppend!(checkedInput(input), opts),
    }));
    const invalid = invalidCaseNames();
    expect(invalid.length).toBeGreaterThanOrEqual(25);
    expect(failed).toEqual(invalid);
  });

  it('fails a network that answers a refused AppendEntries with success', async () => {
    const failed = await failures((c) => ({
      ...c,
      appendEntries: (r, o) =>
        c.appendEntries(r, o).catch((err: unknown) => {
          if (hasErrorCode(err, 'REMOTE')) return { type: 'success' as const };
          throw err;
        }),
    }));
    expect(failed).toEqual([
      'a plain handler error becomes a RemoteError',
      ...invalidCaseNames('appendEntries'),
    ]);
  });

  it('fails a network whose connection is unusable after a remote error', async () => {
    const failed = await failures((c) => {
      let broken = false;
      const guard = <T>(call: () => Promise<T>): Promise<T> => {
        if (broken) return Promise.reject(new NetworkError('connection lost'));
        return call().catch((err: unknown) => {
          if (hasErrorCode(err, 'REMOTE')) broken = true;
          throw err;
        });
      };
      return {
        ...c,
        appendEntries: (r, o) => guard(() => c.appendEntries(r, o)),
        vote: (r, o) => guard(() => c.vote(r, o)),
        transferLeader: (r, o) => guard(() => c.transferLeader!(r, o)),
        fullSnapshot: (v, s, o) => guard(() => c.fullSnapshot(v, s, o)),
      };
    });
    const unary = invalidCaseNames().filter((n) => !n.startsWith('invalid request: a streamed'));
    expect(failed).toEqual(['a plain handler error becomes a RemoteError', ...unary]);
  });
});
