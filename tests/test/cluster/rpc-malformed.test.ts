import type { Raft } from '@flotilla/raft';
import { ErrorCode, NetworkError, type RaftNetworkFactory } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cmd, nodesOf, type Resp, lonelyNode as startLonelyNode } from './harness.ts';

/**
 * `Raft` is the one place a request is validated (transports check framing, size and authentication
 * only): every well-framed but malformed request fails alone with `InvalidRequest`, and the node
 * keeps running. What a third-party transport that checks nothing would hand over.
 */
let nodes: Raft<Cmd, Resp>[] = [];
afterEach(async () => {
  for (const r of nodes) await r.shutdown();
  nodes = [];
});

const unreachable: RaftNetworkFactory = {
  newClient: () => {
    const down = () => Promise.reject(new NetworkError('down'));
    return { vote: down, appendEntries: down, fullSnapshot: down };
  },
};

async function codeOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: unknown }).code,
  );
}

const goodVote = { term: 1, nodeId: 'b', committed: true };
const meta = {
  lastLogId: { term: 1, index: 1 },
  lastMembership: {
    logId: { term: 1, index: 1 },
    membership: { configs: [['a', 'b']], nodes: nodesOf(['a', 'b']) },
  },
  snapshotId: 's1',
};

describe('malformed requests reaching Raft directly', () => {
  it('each fails with InvalidRequest and the node keeps running', async () => {
    const raft = await startLonelyNode(unreachable, nodes);
    const bad = (x: unknown) => x as never;
    const cases: [string, Promise<unknown>][] = [
      ['appendEntries(null)', raft.appendEntries(bad(null))],
      [
        'appendEntries bad vote',
        raft.appendEntries(bad({ vote: { term: -1 }, prevLogId: null, entries: [], leaderCommit: null })),
      ],
      [
        'appendEntries entries not an array',
        raft.appendEntries(bad({ vote: goodVote, prevLogId: null, entries: 'x', leaderCommit: null })),
      ],
      [
        'appendEntries bad entry',
        raft.appendEntries(
          bad({ vote: goodVote, prevLogId: null, entries: [{ logId: { term: 1 } }], leaderCommit: null }),
        ),
      ],
      ['vote(42)', raft.vote(bad(42))],
      ['vote bad lastLogId', raft.vote(bad({ vote: goodVote, lastLogId: { term: 'x', index: 1 } }))],
      ['transferLeader({})', raft.transferLeader(bad({}))],
      ['installFullSnapshot bad meta', raft.installFullSnapshot(goodVote, bad({ snapshotId: 3 }), bad([]))],
      ['installFullSnapshot data not iterable', raft.installFullSnapshot(goodVote, meta, bad(7))],
    ];
    for (const [what, p] of cases) expect(await codeOf(p), what).toBe(ErrorCode.InvalidRequest);
    expect(raft.metrics.current.error).toBeNull();
    expect(raft.metrics.current.state).not.toBe('Shutdown');
  });

  it('a pipelined stream fails with InvalidRequest on a malformed request or a malformed input', async () => {
    const raft = await startLonelyNode(unreachable, nodes);
    const drain = async (it: AsyncIterable<unknown>) => {
      for await (const _ of it) {
        // nothing: the first malformed request ends the stream
      }
    };
    async function* requests() {
      yield { vote: goodVote, prevLogId: { term: 'x' }, entries: [], leaderCommit: null } as never;
    }
    expect(await codeOf(drain(raft.streamAppend(requests())))).toBe(ErrorCode.InvalidRequest);
    expect(await codeOf(drain(raft.streamAppend(null as never)))).toBe(ErrorCode.InvalidRequest);
    expect(raft.metrics.current.error).toBeNull();
  });
});
