// fileStateMachine against @flotilla/testkit's state-machine conformance suite, on the real file
// system and on the crash-simulating one.
import { stateMachineSuite } from '@flotilla/testkit';
import type { RaftStateMachine } from '@flotilla/types';
import { afterAll } from 'vitest';
import { type FileStateMachine, fileStateMachine } from '../src/index.ts';
import { CrashFileIO } from '../src/testing/index.ts';
import { tempDir } from './helpers.ts';

/** Order-sensitive: the state is the list of numbers applied; each answers [length, previous last]. */
type Cmd = number;
type Resp = [number, number | null];
type SM = FileStateMachine<number[], Cmd, Resp>;

const apply = (s: number[], n: Cmd): readonly [number[], Resp] => {
  const prev = s.at(-1) ?? null;
  s.push(n); // in place: snapshots encode the state when captured
  return [s, [s.length, prev]];
};

const cleanups = new Map<RaftStateMachine<Cmd, Resp>, () => Promise<void>>();
afterAll(async () => {
  for (const c of cleanups.values()) await c();
});

stateMachineSuite<Cmd, Resp>('fileStateMachine (node:fs)', {
  setup: async () => {
    const { dir, cleanup } = await tempDir();
    const sm = await fileStateMachine<number[], Cmd, Resp>({ dir, initial: [], apply });
    cleanups.set(sm, cleanup);
    return sm;
  },
  teardown: async (sm) => {
    await cleanups.get(sm)?.();
    cleanups.delete(sm);
  },
  command: (i) => i * 7 + 1,
  digest: async (sm) => (sm as SM).state,
  receivesSnapshots: true,
});

stateMachineSuite<Cmd, Resp>('fileStateMachine (CrashFileIO)', {
  setup: () =>
    fileStateMachine<number[], Cmd, Resp>({ dir: '/sm', initial: [], apply, io: new CrashFileIO() }),
  command: (i) => i * 7 + 1,
  digest: async (sm) => (sm as SM).state,
  receivesSnapshots: true,
});
