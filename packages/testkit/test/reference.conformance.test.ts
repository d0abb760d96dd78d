import { logStorageSuite, stateMachineSuite } from '../src/index.ts';
import { ReferenceLogStore } from './reference-log-store.ts';
import { ListMachine } from './reference-state-machine.ts';

// The suites run against small reference implementations here, so that the suite code itself is
// exercised (and kept honest) inside this package; `@flotilla/memory` runs them against its parts.

logStorageSuite('reference log store', { setup: async () => new ReferenceLogStore() });

logStorageSuite('reference log store, re-opened at every durable point', {
  setup: async () => new ReferenceLogStore(),
  reopen: async (store) => new ReferenceLogStore((store as ReferenceLogStore).disk),
});

stateMachineSuite('reference state machine', {
  setup: async () => new ListMachine(),
  command: (i) => `c${i}`,
  digest: async (sm) => (sm as ListMachine).items,
});
