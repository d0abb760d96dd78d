// @flotilla/testkit's start-up suite (openraft's get_initial_state_* / get_membership_* cases)
// through the public API: Raft.create on pre-filled stores, then its metrics. Run on the memory
// stores, on the file log store with the memory state machine, and on the file log store with
// fileStateMachine.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import { fileLogStore, fileStateMachine } from '@flotilla/storage-file';
import { type StartedNode, type StartupStores, startupSuite } from '@flotilla/testkit';
import { CONFIG } from './harness.ts';

type Stores = StartupStores<number, number>;
const apply = (s: number, n: number) => [s + n, s + n] as const;

async function start(stores: Stores, id: string): Promise<StartedNode> {
  // no peer is reachable; the node is never a voter of the cases' memberships
  const raft = await Raft.create<number, number>({
    id,
    config: CONFIG,
    network: new MemoryRouter().factory(id),
    ...stores,
  });
  return {
    metrics: () => raft.metrics.current,
    until: (pred, what) => raft.wait({ timeoutMs: 5_000 }).until(pred, what),
    stop: () => raft.shutdown(),
  };
}

startupSuite<number, number>('start-up: memory log store + memory state machine', {
  setup: async () => ({
    logStore: memoryLogStore(),
    stateMachine: memoryStateMachine({ initial: 0, apply }),
  }),
  start,
});

const dirs = new WeakMap<Stores, string>();
async function fileStores(sm: 'memory' | 'file'): Promise<Stores> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-startup-'));
  const stores: Stores = {
    logStore: await fileLogStore(join(dir, 'log')),
    stateMachine:
      sm === 'memory'
        ? memoryStateMachine({ initial: 0, apply })
        : await fileStateMachine({ dir: join(dir, 'sm'), initial: 0, apply }),
  };
  dirs.set(stores, dir);
  return stores;
}
async function removeFileStores(stores: Stores): Promise<void> {
  await stores.logStore.close?.();
  const dir = dirs.get(stores);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

startupSuite<number, number>('start-up: file log store + memory state machine', {
  setup: () => fileStores('memory'),
  start,
  teardown: removeFileStores,
});

startupSuite<number, number>('start-up: file log store + fileStateMachine', {
  setup: () => fileStores('file'),
  start,
  teardown: removeFileStores,
});
