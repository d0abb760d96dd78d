/**
 * Owns the cluster's membership: voter configs (one, or two in joint consensus, Raft §6) and learners,
 * the queries every package asks of it (voters, learners, quorum), the requested changes
 * (`ChangeMembers`) and what they lead to, the next step of a change and its structural rules
 * (`validateMembership`). Pure functions of the values given: it must never decide whether a change
 * may start now (that is the leader's) nor change a membership in place.
 */
import { ChangeMembershipError, InvalidMembershipError, InvalidRequestError } from './errors.ts';
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

// ---------------------------------------------------------------- requested changes

/**
 * A membership change as a caller asks for it, after openraft's `ChangeMembers` (one variant per
 * object key, camelCase of openraft's names). A change of the voter set goes through joint consensus
 * (Raft §6); a change of nodes only (`addNodes`, `setNodes`, `removeNodes`, `replaceAllNodes`) is
 * one entry. A voter set given as a plain list of ids means `replaceAllVoters`.
 *
 * @example
 * ```ts
 * const changes: ChangeMembers = {
 *   batch: [{ addNodes: { d: { addr: 'd:1' } } }, { removeVoters: ['a'] }],
 * };
 * ```
 */
export type ChangeMembers =
  /**
   * Makes members voters. Each must already be a member (a learner, e.g. added by `addLearner`),
   * otherwise the change is refused (`ChangeMembershipError` 'LearnerNotFound').
   */
  | { addVoterIds: NodeId[] }
  /**
   * Adds voters with their nodes: the runtime first adds the new ones as learners and lets them catch
   * up, then makes them voters, in one call. An id that already is a member keeps its node.
   */
  | { addVoters: Record<NodeId, Node> }
  /** Removes voters; they stay as learners with `retain`, otherwise they leave the membership. */
  | { removeVoters: NodeId[] }
  /** Replaces the voter set; every new voter must already be a member ('LearnerNotFound'). */
  | { replaceAllVoters: NodeId[] }
  /** Adds learners. An id that already is a member keeps its node (use `setNodes` to change one). */
  | { addNodes: Record<NodeId, Node> }
  /**
   * Adds or replaces nodes: changes a member's address or data. Prefer `addNodes` where it will do:
   * pointing a voter at another process's address can split the cluster.
   */
  | { setNodes: Record<NodeId, Node> }
  /**
   * Removes learners; an id that is not a member is ignored. Removing a node that is still a voter
   * is refused ('NodeIsVoter'): remove it from the voters first (`removeVoters`).
   */
  | { removeNodes: NodeId[] }
  /** Replaces every node; every voter must keep one ('NodeIsVoter' / 'LearnerNotFound' otherwise). */
  | { replaceAllNodes: Record<NodeId, Node> }
  /**
   * Several changes applied in order, from the first to the last; the whole still takes one joint
   * step at most (and none when no voter changes).
   */
  | { batch: ChangeMembers[] };

/** Where a membership change leads: the voter set to reach and the node of every member. */
export interface MembershipTarget {
  /** The voters of the final (uniform) config, sorted. */
  voters: NodeId[];
  /** Every member's node in the final membership (before `retain` drops removed voters). */
  nodes: Record<NodeId, Node>;
}

const CHANGE_KINDS = [
  'addVoterIds',
  'addVoters',
  'removeVoters',
  'replaceAllVoters',
  'addNodes',
  'setNodes',
  'removeNodes',
  'replaceAllNodes',
  'batch',
] as const;

/** The deepest `batch` nesting `validateChangeMembers` accepts. */
const MAX_BATCH_DEPTH = 8;

/**
 * Where `changes` lead from `membership` (openraft's `compute_target_membership`): starts from the
 * voters of its last config (the target of a joint config) and its nodes, and applies each change in
 * order. Checks nothing; `planChangeMembers` does.
 */
export function changeMembersTarget(membership: Membership, changes: ChangeMembers): MembershipTarget {
  const last = membership.configs[membership.configs.length - 1] ?? [];
  const target = applyChange({ voters: new Set(last), nodes: { ...membership.nodes } }, changes);
  return { voters: sortIds(target.voters), nodes: target.nodes };
}

function applyChange(
  t: { voters: Set<NodeId>; nodes: Record<NodeId, Node> },
  c: ChangeMembers,
): { voters: Set<NodeId>; nodes: Record<NodeId, Node> } {
  const addNodes = (nodes: Record<NodeId, Node>) => {
    for (const [id, node] of Object.entries(nodes)) if (!Object.hasOwn(t.nodes, id)) t.nodes[id] = node;
  };
  if ('addVoterIds' in c) for (const id of c.addVoterIds) t.voters.add(id);
  else if ('addVoters' in c) {
    addNodes(c.addVoters);
    for (const id of Object.keys(c.addVoters)) t.voters.add(id);
  } else if ('removeVoters' in c) for (const id of c.removeVoters) t.voters.delete(id);
  else if ('replaceAllVoters' in c) t.voters = new Set(c.replaceAllVoters);
  else if ('addNodes' in c) addNodes(c.addNodes);
  else if ('setNodes' in c) Object.assign(t.nodes, c.setNodes);
  else if ('removeNodes' in c) for (const id of c.removeNodes) delete t.nodes[id];
  else if ('replaceAllNodes' in c) t.nodes = { ...c.replaceAllNodes };
  else for (const inner of c.batch) t = applyChange(t, inner);
  return t;
}

/**
 * Plans `changes` from `membership` (openraft's `Membership::change`): the membership to append now
 * (`next`: the joint config `[current, target]` when the voter set changes, else the current config
 * with the new nodes) and where the change leads (`target`). `retain` keeps removed voters as
 * learners once the change completes. Throws `ChangeMembershipError`: 'EmptyMembership' (no voter
 * left), 'NodeIsVoter' (a voter's node removed), 'LearnerNotFound' (a voter without a node),
 * 'Invalid' (a node without a string `addr`).
 */
export function planChangeMembers(
  membership: Membership,
  changes: ChangeMembers,
  opts: { retain?: boolean } = {},
): { next: Membership; target: MembershipTarget } {
  const target = changeMembersTarget(membership, changes);
  if (target.voters.length === 0) {
    throw new ChangeMembershipError('EmptyMembership', 'the change leaves no voter');
  }
  // Through the joint step, the current voters and the new ones all need their node.
  for (const id of new Set([...voterIds(membership), ...target.voters])) {
    if (Object.hasOwn(target.nodes, id)) continue;
    if (Object.hasOwn(membership.nodes, id)) {
      throw new ChangeMembershipError(
        'NodeIsVoter',
        `node ${id} is still a voter: remove it from the voters (removeVoters) before removing its node`,
      );
    }
    throw new ChangeMembershipError(
      'LearnerNotFound',
      `voter ${id} is not a member: add it as a learner first (or use addVoters with its node)`,
    );
  }
  try {
    const next = nextMembership({ configs: membership.configs, nodes: target.nodes }, target.voters, opts);
    return { next, target };
  } catch (err) {
    throw new ChangeMembershipError('Invalid', (err as Error).message, { cause: err });
  }
}

/** Every node `changes` bring (from `addVoters`, `addNodes`, `setNodes`, `replaceAllNodes`), in order. */
export function nodesOfChangeMembers(changes: ChangeMembers): [NodeId, Node][] {
  if ('batch' in changes) return changes.batch.flatMap(nodesOfChangeMembers);
  const nodes =
    'addVoters' in changes
      ? changes.addVoters
      : 'addNodes' in changes
        ? changes.addNodes
        : 'setNodes' in changes
          ? changes.setNodes
          : 'replaceAllNodes' in changes
            ? changes.replaceAllNodes
            : {};
  return Object.entries(nodes);
}

/** The nodes `changes` add as voters with `addVoters` (also inside a `batch`), by id. */
export function addVotersOf(changes: ChangeMembers): Record<NodeId, Node> {
  if ('addVoters' in changes) return { ...changes.addVoters };
  if ('batch' in changes) return Object.assign({}, ...changes.batch.map(addVotersOf)) as Record<NodeId, Node>;
  return {};
}

/**
 * Checks that `value` has the shape of a `ChangeMembers` (one known key; ids non-empty strings; nodes
 * with a string `addr`; `batch` nested at most 8 deep) and returns it. Throws `InvalidRequestError`
 * naming the offending path. Says nothing of whether the change fits a membership.
 */
export function validateChangeMembers(value: unknown, path = 'changes'): ChangeMembers {
  return checkChange(value, path, 0);
}

function checkChange(value: unknown, path: string, depth: number): ChangeMembers {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidRequestError(path, `expected an object with one of ${CHANGE_KINDS.join(', ')}`);
  }
  const keys = Object.keys(value);
  const kind = keys[0] as (typeof CHANGE_KINDS)[number] | undefined;
  if (keys.length !== 1 || kind === undefined || !CHANGE_KINDS.includes(kind)) {
    throw new InvalidRequestError(path, `expected exactly one of ${CHANGE_KINDS.join(', ')}`);
  }
  const inner = (value as Record<string, unknown>)[kind];
  const at = `${path}.${kind}`;
  switch (kind) {
    case 'addVoterIds':
    case 'removeVoters':
    case 'replaceAllVoters':
    case 'removeNodes':
      if (!Array.isArray(inner)) throw new InvalidRequestError(at, 'expected an array of node ids');
      inner.forEach((id, i) => {
        checkId(id, `${at}[${i}]`);
      });
      break;
    case 'batch':
      if (!Array.isArray(inner)) throw new InvalidRequestError(at, 'expected an array of changes');
      if (depth >= MAX_BATCH_DEPTH) throw new InvalidRequestError(at, 'batches nest too deep');
      inner.forEach((c, i) => {
        checkChange(c, `${at}[${i}]`, depth + 1);
      });
      break;
    default:
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
        throw new InvalidRequestError(at, 'expected an object of nodes by id');
      }
      for (const [id, node] of Object.entries(inner)) {
        checkId(id, `${at}.${id}`);
        if (node === null || typeof node !== 'object' || typeof (node as Node).addr !== 'string') {
          throw new InvalidRequestError(`${at}.${id}`, 'expected a node {addr: string, data?}');
        }
        const data = (node as Node).data;
        if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data))) {
          throw new InvalidRequestError(`${at}.${id}.data`, 'expected an object');
        }
      }
  }
  return value as ChangeMembers;
}

function checkId(id: unknown, path: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 1024 || id === '__proto__') {
    throw new InvalidRequestError(path, 'expected a non-empty node id');
  }
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
