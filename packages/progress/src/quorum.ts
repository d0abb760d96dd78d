/**
 * Who may decide: the `QuorumSet` contract and its majority and joint (Raft §6) implementations,
 * built from checked voter configs (an empty or repeating config throws `InvalidMembershipError`).
 * Must never count a learner, nor hold any progress: it answers "is this set a quorum" only.
 */
import { InvalidMembershipError, type Membership, type NodeId } from '@flotilla/types';

/**
 * A quorum system: which sets of ids may decide. Implementations must be monotone (a superset of a
 * quorum is a quorum).
 */
export interface QuorumSet<Id = NodeId> {
  /** Whether `ids` (duplicates and unknown ids allowed, they are ignored) contain a quorum. */
  isQuorum(ids: Iterable<Id>): boolean;
  /** All voter ids, each once. */
  ids(): Id[];
  /**
   * When present: this quorum set is "a strict majority of every one of these configs". Lets
   * {@link VecProgress} track the quorum-accepted value incrementally; without it VecProgress falls
   * back to sorting on every update.
   */
  majorityConfigs?(): readonly (readonly Id[])[];
}

/**
 * A strict majority of `ids`. Throws `InvalidMembershipError` (`EmptyConfig`, `DuplicateVoter`)
 * for an empty or repeating voter list.
 */
export function majorityQuorum(ids: Iterable<NodeId>): QuorumSet {
  const voters = checkConfig(ids);
  return {
    isQuorum: (granted) => countIn(voters, granted) * 2 > voters.length,
    ids: () => [...voters],
    majorityConfigs: () => [voters],
  };
}

/**
 * A strict majority of **every** config (Raft §6, joint consensus). One config is a plain majority,
 * two are the joint (old, new) configuration. With no config nothing is a quorum (an uninitialized
 * node). Throws `InvalidMembershipError` for an empty or repeating config.
 */
export function jointQuorum(configs: NodeId[][]): QuorumSet {
  const cs = configs.map((c) => checkConfig(c));
  const all = new Set<NodeId>();
  for (const c of cs) for (const id of c) all.add(id);
  const allIds = [...all];
  return {
    isQuorum: (granted) => {
      if (cs.length === 0) return false;
      const set = new Set(granted);
      return cs.every((c) => countIn(c, set) * 2 > c.length);
    },
    ids: () => [...allIds],
    majorityConfigs: () => cs,
  };
}

/** The quorum set of a membership's voter configs (learners never count). */
export function quorumOfMembership(m: Membership): QuorumSet {
  return jointQuorum(m.configs);
}

function checkConfig(ids: Iterable<NodeId>): readonly NodeId[] {
  const list = [...ids];
  if (list.length === 0) throw new InvalidMembershipError('EmptyConfig', 'a quorum config is empty');
  if (new Set(list).size !== list.length) {
    throw new InvalidMembershipError('DuplicateVoter', `config [${list.join(',')}] lists a voter twice`);
  }
  return Object.freeze(list);
}

function countIn(voters: readonly NodeId[], granted: Iterable<NodeId>): number {
  const set = granted instanceof Set ? (granted as Set<NodeId>) : new Set(granted);
  let n = 0;
  for (const id of voters) if (set.has(id)) n++;
  return n;
}
