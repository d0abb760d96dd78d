import { InvalidMembershipError } from './errors.ts';
import type { LogId } from './log-id.ts';
import type { Node, NodeId } from './node.ts';

/**
 * The cluster's membership: one voter config (uniform) or two (joint consensus, Raft §6), and the
 * node of every member. A node in `nodes` but in no config is a learner: it receives the log but
 * neither votes nor counts toward a quorum.
 */
export interface Membership {
  /** Voter sets; one = uniform, two = joint (old, new). Each non-empty, ids unique within a set. */
  configs: NodeId[][];
  /** Every voter and learner, by id. Every voter must be present. */
  nodes: Record<NodeId, Node>;
}

/** A membership together with the id of the log entry that carried it (`null` before any). */
export interface StoredMembership {
  /** The entry that carried this membership, or `null` for the empty initial membership. */
  logId: LogId | null;
  /** The membership. */
  membership: Membership;
}

/** The membership of a node that was never initialized: no voters, no learners. */
export function emptyMembership(): Membership {
  return { configs: [], nodes: {} };
}

/** A `StoredMembership` with no log id and no members. */
export function emptyStoredMembership(): StoredMembership {
  return { logId: null, membership: emptyMembership() };
}

/**
 * Builds a uniform membership whose voters are the keys of `nodes` (or `voters` when given, the
 * other nodes becoming learners). Validates the result.
 */
export function uniformMembership(nodes: Record<NodeId, Node>, voters?: Iterable<NodeId>): Membership {
  const ids = voters ? [...voters] : Object.keys(nodes);
  return validateMembership({ configs: [sortIds(ids)], nodes: { ...nodes } });
}

/** Whether the membership is joint (two configs). */
export function isJoint(membership: Membership): boolean {
  return membership.configs.length > 1;
}

/** Every voter of every config, each once, sorted. */
export function voterIds(membership: Membership): NodeId[] {
  const set = new Set<NodeId>();
  for (const config of membership.configs) for (const id of config) set.add(id);
  return sortIds(set);
}

/** Every node that is in `nodes` but in no config, sorted. */
export function learnerIds(membership: Membership): NodeId[] {
  const voters = new Set(voterIds(membership));
  return sortIds(Object.keys(membership.nodes).filter((id) => !voters.has(id)));
}

/** Every member (voters and learners), sorted. */
export function memberIds(membership: Membership): NodeId[] {
  return sortIds(Object.keys(membership.nodes));
}

/** Whether `id` is a voter in any config. */
export function isVoter(membership: Membership, id: NodeId): boolean {
  return membership.configs.some((config) => config.includes(id));
}

/** Whether `id` is a learner (a member of no config). */
export function isLearner(membership: Membership, id: NodeId): boolean {
  return Object.hasOwn(membership.nodes, id) && !isVoter(membership, id);
}

/** Whether `id` is a voter or a learner. */
export function isMember(membership: Membership, id: NodeId): boolean {
  return Object.hasOwn(membership.nodes, id);
}

/** The node of `id`, or `undefined`. */
export function getNode(membership: Membership, id: NodeId): Node | undefined {
  return Object.hasOwn(membership.nodes, id) ? membership.nodes[id] : undefined;
}

/**
 * Whether `granted` holds a quorum: a strict majority of **every** config (so during a joint
 * configuration, of both the old and the new one — Raft §6). A membership without configs has no
 * quorum.
 */
export function isQuorum(membership: Membership, granted: Iterable<NodeId>): boolean {
  if (membership.configs.length === 0) return false;
  const set = granted instanceof Set ? (granted as Set<NodeId>) : new Set(granted);
  return membership.configs.every((config) => {
    let n = 0;
    for (const id of config) if (set.has(id)) n++;
    return n * 2 > config.length;
  });
}

/**
 * The next step from `membership` toward the voter set `target`: from a uniform config, the joint
 * config `[current, target]`; from a joint config, `[target]` once `target` is its second half (otherwise
 * a new joint `[lastHalf, target]`). Learners stay; `retain` keeps removed voters as learners,
 * otherwise they leave `nodes`. New voters must already be in `nodes` (added as learners first) or
 * be given in `addNodes`.
 */
export function nextMembership(
  membership: Membership,
  target: Iterable<NodeId>,
  opts: { retain?: boolean; addNodes?: Record<NodeId, Node> } = {},
): Membership {
  const want = sortIds(new Set(target));
  if (want.length === 0) throw new InvalidMembershipError('EmptyConfig', 'the new voter set is empty');
  const nodes: Record<NodeId, Node> = { ...membership.nodes, ...(opts.addNodes ?? {}) };
  for (const id of want) {
    if (!Object.hasOwn(nodes, id)) {
      throw new InvalidMembershipError('MissingNode', `voter ${id} has no node: add it as a learner first`);
    }
  }
  const last = membership.configs[membership.configs.length - 1];
  let configs: NodeId[][];
  if (last === undefined) configs = [want];
  else if (membership.configs.length > 1 && sameIds(last, want)) configs = [want];
  else if (membership.configs.length === 1 && sameIds(last, want)) configs = [want];
  else configs = [sortIds(last), want];
  const next: Membership = { configs, nodes };
  if (configs.length === 1 && !opts.retain) {
    // Leaving the joint config: voters no longer in any config leave unless retained, learners stay.
    const previousVoters = new Set(voterIds(membership));
    for (const id of previousVoters) if (!want.includes(id)) delete nodes[id];
  }
  return validateMembership(next);
}

/**
 * Checks the structural rules of a membership and returns it: at most two configs, each non-empty
 * and without duplicates, and every voter present in `nodes` with a string `addr`.
 * Throws `InvalidMembershipError` naming the problem otherwise.
 */
export function validateMembership(membership: Membership): Membership {
  if (!Array.isArray(membership.configs) || membership.configs.length > 2) {
    throw new InvalidMembershipError(
      'TooManyConfigs',
      'a membership has one config (uniform) or two (joint)',
    );
  }
  for (const config of membership.configs) {
    if (!Array.isArray(config) || config.length === 0)
      throw new InvalidMembershipError('EmptyConfig', 'a config is empty');
    if (new Set(config).size !== config.length) {
      throw new InvalidMembershipError('DuplicateVoter', `config [${config.join(',')}] lists a voter twice`);
    }
    for (const id of config) {
      if (typeof id !== 'string' || id === '')
        throw new InvalidMembershipError('InvalidNodeId', `bad node id ${String(id)}`);
      if (!Object.hasOwn(membership.nodes, id))
        throw new InvalidMembershipError('MissingNode', `voter ${id} has no node`);
    }
  }
  for (const [id, node] of Object.entries(membership.nodes)) {
    if (node === null || typeof node !== 'object' || typeof node.addr !== 'string') {
      throw new InvalidMembershipError('InvalidNode', `node ${id} has no string addr`);
    }
  }
  return membership;
}

/** Whether two memberships have the same configs (order-insensitive within a config) and nodes. */
export function membershipEquals(a: Membership, b: Membership): boolean {
  if (a.configs.length !== b.configs.length) return false;
  for (let i = 0; i < a.configs.length; i++)
    if (!sameIds(a.configs[i] ?? [], b.configs[i] ?? [])) return false;
  const ak = Object.keys(a.nodes).sort();
  const bk = Object.keys(b.nodes).sort();
  if (!sameIds(ak, bk)) return false;
  return ak.every((k) => a.nodes[k]?.addr === b.nodes[k]?.addr);
}

/** Renders a membership as `{1,2,3}` or `{1,2,3}+{3,4,5}` with learners as `L{4}`. */
export function formatMembership(membership: Membership): string {
  const cs = membership.configs.map((config) => `{${config.join(',')}}`).join('+') || '{}';
  const ls = learnerIds(membership);
  return ls.length > 0 ? `${cs} L{${ls.join(',')}}` : cs;
}

function sortIds(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

function sameIds(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((id) => s.has(id));
}
