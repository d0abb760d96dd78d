/**
 * The engine's planted bugs: each a deliberately broken Raft rule, planted as source patches into a
 * private copy of `@flotilla/engine` (see `../../planted/`), never by a switch in the package. Each
 * names the invariant the simulator's checker must report when it catches it (`symptom`): a bug
 * caught by an unrelated violation would prove nothing about that rule.
 */
import type { PlantedBug } from '../../planted/patch.ts';

const VOTE = 'packages/engine/src/handlers/vote.ts';
const FOLLOWING = 'packages/engine/src/handlers/following.ts';
const LEADER = 'packages/engine/src/handlers/leader.ts';
const STEPS = 'packages/engine/src/steps.ts';

/** A planted engine bug and the violation it must show. */
export interface EngineBug extends PlantedBug {
  /** What the violation's text must match: the invariant this bug breaks, by name. */
  readonly symptom: RegExp;
}

/** Every planted engine bug. */
export const ENGINE_BUGS: readonly EngineBug[] = [
  {
    name: 'commitOldTermByCount',
    description: 'a leader commits an entry of an earlier term by counting replicas (Raft §5.4.2, Figure 8)',
    patches: [
      { file: LEADER, find: '  if (accepted.term !== leader.vote.term) return null;\n', replace: '' },
    ],
    symptom: /leader completeness|committed entry .* truncated|state machine safety|but .* was committed/,
  },
  {
    name: 'voteWithoutLogCheck',
    description: "a voter grants without comparing the candidate's last log id with its own (§5.4.1)",
    patches: [
      {
        file: VOTE,
        find: 'const logOk = compareLogId(req.lastLogId, lastLogId) >= 0;',
        replace: 'const logOk = true;',
      },
    ],
    symptom: /leader completeness|committed entry .* truncated|state machine safety|but .* was committed/,
  },
  {
    name: 'voteBeforeDurable',
    description: 'a voter answers a granted vote before the vote is durable',
    patches: [{ file: VOTE, find: 'answer(true, state.whenDurable());', replace: 'answer(true, null);' }],
    symptom: /granted .* while its durable vote is/,
  },
  {
    name: 'appendAckBeforeFlush',
    description: 'a follower answers AppendEntries before the entries are flushed',
    patches: [
      {
        file: FOLLOWING,
        find: 'const when = outcome.durable ? state.whenDurable() : null;',
        replace: 'const when = null;',
      },
    ],
    symptom: /committed .* durable only on/,
  },
  {
    name: 'skipTruncateOnConflict',
    description: 'a follower keeps its own conflicting entry instead of truncating (§5.3)',
    patches: [
      {
        file: FOLLOWING,
        find: '      truncateLog(state, id);\n      break;\n',
        replace: '      continue;\n',
      },
    ],
    symptom: /log matching|commits .* that its log does not hold|state machine safety|but .* was committed/,
  },
  {
    name: 'countLeaderBeforeFlush',
    description: 'a leader counts its own log toward the commit quorum before it is flushed',
    patches: [
      {
        file: STEPS,
        find: '  establishLeader(core, now);\n',
        replace: '  establishLeader(core, now);\n  selfAccepted(core, core.log.last());\n',
      },
      {
        file: STEPS,
        find: '  replicationH.onLeaderMembershipChanged(core, core.now);\n  commitByQuorum(core);\n',
        replace:
          '  replicationH.onLeaderMembershipChanged(core, core.now);\n  selfAccepted(core, core.log.last());\n',
      },
      {
        file: STEPS,
        find: '  if (ids.length === 0) return ids;\n',
        replace: '  if (ids.length === 0) return ids;\n  selfAccepted(core, core.log.last());\n',
      },
    ],
    symptom: /committed .* durable only on/,
  },
];

/** The names of every planted engine bug. */
export const ENGINE_BUG_NAMES: readonly string[] = ENGINE_BUGS.map((b) => b.name);

/** The planted engine bug named `name`, or `undefined`. */
export function engineBug(name: string): EngineBug | undefined {
  return ENGINE_BUGS.find((b) => b.name === name);
}
