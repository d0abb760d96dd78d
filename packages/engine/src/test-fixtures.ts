import type { LogId, Membership, NodeId } from '@flotilla/types';
import type { EngineConfig } from './config.ts';
import { Engine, type EngineStartup } from './engine.ts';

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
