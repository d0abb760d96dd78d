import type { LogId, Membership, NodeId } from '@flotilla/types';
import type { Command } from '../src/command.ts';
import type { EngineConfig } from '../src/config.ts';
import { Engine, type EngineStartup } from '../src/engine.ts';

/** A membership of voters `ids` (and learners `learners`) with addresses `<id>:1`. Test helper. */
export function members(ids: NodeId[], learners: NodeId[] = []): Membership {
  const nodes: Membership['nodes'] = {};
  for (const id of [...ids, ...learners]) nodes[id] = { addr: `${id}:1` };
  return { configs: [[...ids].sort()], nodes };
}

/** Shorthand log id. */
export function lid(term: number, index: number): LogId {
  return { term, index };
}

/** An empty startup state. */
export function emptyStartup(): EngineStartup {
  return {
    vote: null,
    purged: null,
    keyLogIds: [],
    committed: null,
    applied: null,
    snapshot: null,
    memberships: [],
  };
}

/** A started engine with deterministic randomness (0.5) and test-friendly defaults. */
export function newEngine(id: NodeId, config: Partial<EngineConfig> = {}, startup = emptyStartup()): Engine {
  const e = new Engine({
    id,
    config: {
      enablePreVote: false,
      electionTimeoutMinMs: 100,
      electionTimeoutMaxMs: 200,
      heartbeatIntervalMs: 20,
      leaseMs: 100,
      ...config,
    },
    random: () => 0.5,
  });
  e.startup(startup, 0);
  return e;
}

/**
 * The startup state of b before its term-2 election: it voted for a in term 1 (committed), its log is
 * 0-0, 1-1 with 0-0 committed and applied, and `membership` was set at 0-0. Test helper.
 */
export function preElectionStartup(membership: Membership = members(['a', 'b', 'c'])): EngineStartup {
  return {
    vote: { term: 1, nodeId: 'a', committed: true },
    purged: null,
    keyLogIds: [lid(0, 0), lid(1, 1)],
    committed: lid(0, 0),
    applied: lid(0, 0),
    snapshot: null,
    memberships: [{ logId: lid(0, 0), membership }],
  };
}

/**
 * Makes engine b (started from {@link preElectionStartup}) win term 2: it campaigns at 500, its vote
 * is flushed at 500 (io 1), each of `voters` grants at 501, and its blank 2-2 is flushed at 502
 * (io 3). Returns (and drains) the commands it emitted, the probes among them. Test helper.
 */
export function winTerm2(e: Engine, voters: NodeId[] = ['a']): Command[] {
  e.elect(500);
  e.onLocalIo({ type: 'flushed', ioId: 1 }, 500);
  for (const id of voters) {
    e.handleVoteResponse(
      id,
      { vote: { term: 2, nodeId: 'b', committed: false }, voteGranted: true, lastLogId: lid(1, 1) },
      501,
    );
  }
  e.onLocalIo({ type: 'flushed', ioId: 3 }, 502);
  return e.takeCommands();
}

/**
 * The startup state of a follower of leader a in term 2 (committed vote): its log is 0-0, 1-1, 2-9,
 * committed up to 2-9 but applied only up to 0-0, with voters a, b, c set at 0-0. Test helper.
 */
export function committedFollowerStartup(): EngineStartup {
  return {
    vote: { term: 2, nodeId: 'a', committed: true },
    purged: null,
    keyLogIds: [lid(0, 0), lid(1, 1), lid(2, 9)],
    committed: lid(2, 9),
    applied: lid(0, 0),
    snapshot: null,
    memberships: [{ logId: lid(0, 0), membership: members(['a', 'b', 'c']) }],
  };
}
