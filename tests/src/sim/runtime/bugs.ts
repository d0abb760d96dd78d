/**
 * The runtime's planted bugs, as source patches (see `tests/src/planted/README.md`): each one a
 * safeguard of `@flotilla/raft` or `@flotilla/replication` removed from a private copy of their
 * sources, so nothing of them is in a published file. The simulator runs the `Raft` class of the
 * module {@link raftModule} loads: the patched copy, or the real package for a control run.
 *
 * Owns: the patches and the loaded modules. Must never: patch a file outside `packages/*\/src`, or
 * let a planted run and its control take different code paths (both load through `importPlanted`).
 */
import { importPlanted, type PlantedBug, type SourcePatch } from '../../planted/patch.ts';

/** The `@flotilla/raft` module type the simulator runs. */
export type RaftModule = typeof import('@flotilla/raft');

/** A safeguard that can be removed by a source patch. */
export type RaftPatch =
  /** Replication streams never check the leader vote against `ioAccepted` (before or after reads). */
  | 'streamsSkipLeaderCheck'
  /** A leader that steps down leaves its replication streams running. */
  | 'keepStreamsOnStepDown'
  /** An append is reported durable once the store accepted it, before its flush callback. */
  | 'appendDurableOnSubmit'
  /** `metrics.lastApplied` counts a received snapshot once it is handed over, before its install. */
  | 'appliedBeforeInstall';

const PATCHES: Record<RaftPatch, readonly SourcePatch[]> = {
  streamsSkipLeaderCheck: [
    {
      file: 'packages/replication/src/target-stream.ts',
      find: '    return voteEquals(this.#opts.ioAccepted.get().vote, this.leaderVote);',
      replace: '    return true || voteEquals(this.#opts.ioAccepted.get().vote, this.leaderVote);',
    },
  ],
  keepStreamsOnStepDown: [
    {
      file: 'packages/raft/src/core/replication-driver.ts',
      find: '    const sameLeader = vote !== null && this.#streamsVote !== null && voteEquals(vote, this.#streamsVote);\n',
      replace:
        '    const sameLeader = vote !== null && this.#streamsVote !== null && voteEquals(vote, this.#streamsVote);\n' +
        '    if (vote === null) return;\n',
    },
  ],
  appendDurableOnSubmit: [
    {
      file: 'packages/raft/src/core/log-io.ts',
      find:
        '        else loop.enqueue(() => this.#completed(ioId, true));\n' +
        '      });\n' +
        "      // Readable now; durable only once the store's flush callback said so.\n",
      replace: '      });\n      loop.enqueue(() => this.#completed(ioId, true));\n',
    },
  ],
  appliedBeforeInstall: [
    {
      file: 'packages/raft/src/core/sm-driver.ts',
      find: '    return this.#worker.applied;\n',
      replace: '    return this.#p.engine.applied();\n',
    },
  ],
};

/** The planted bug removing every safeguard in `patches` (`null` when there is none). */
export function plantedBugOf(patches: readonly RaftPatch[]): PlantedBug | null {
  const names = [...new Set(patches)].sort();
  if (names.length === 0) return null;
  return {
    name: names.join('+'),
    description: `runtime safeguards removed: ${names.join(', ')}`,
    patches: names.flatMap((n) => PATCHES[n]),
  };
}

const loaded = new Map<string, Promise<RaftModule>>();

/** The `@flotilla/raft` module with `patches` planted (the real one when empty); loaded once per set. */
export function raftModule(patches: readonly RaftPatch[]): Promise<RaftModule> {
  const bug = plantedBugOf(patches);
  const key = bug?.name ?? '';
  let m = loaded.get(key);
  if (m === undefined) {
    m = importPlanted<RaftModule>(bug, 'raft');
    loaded.set(key, m);
  }
  return m;
}
