import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateMachineSuite } from '@flotilla/testkit';
import type { RaftStateMachine } from '@flotilla/types';
import type { KvRequest, KvResponse } from './kv-state.ts';
import { type KvStateMachine, openKvStateMachine } from './state-machine.ts';

// Every instance gets its own snapshot directory, removed at teardown.
const dirs = new Map<RaftStateMachine<KvRequest, KvResponse>, string>();

stateMachineSuite<KvRequest, KvResponse>('KvStateMachine (file snapshots)', {
  setup: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kv-sm-suite-'));
    const sm = await openKvStateMachine(dir);
    dirs.set(sm, dir);
    return sm;
  },
  teardown: async (sm) => {
    const dir = dirs.get(sm);
    dirs.delete(sm);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  },
  // Order-sensitive: each Set answers the value it replaced.
  command: (i) => ({ Set: { key: `k${i % 3}`, value: `v${i}` } }),
  digest: async (sm) => ['k0', 'k1', 'k2'].map((k) => (sm as KvStateMachine).state.get(k) ?? null),
  receivesSnapshots: true,
});
