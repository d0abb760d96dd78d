import { logStorageSuite } from '@flotilla/testkit';
import { type MemoryLogStore, memoryLogStore } from '../src/index.ts';

const asMemory = (s: unknown): MemoryLogStore => s as MemoryLogStore;

logStorageSuite('memoryLogStore (auto flush)', { setup: async () => memoryLogStore() });

logStorageSuite('memoryLogStore (re-opened from its durable state after every durable point)', {
  setup: async () => memoryLogStore(),
  reopen: async (store) => memoryLogStore({ initial: asMemory(store).crash() }),
  flushControl: (store) => ({
    hold: () => asMemory(store).hold(),
    release: async () => asMemory(store).release(),
  }),
});

logStorageSuite('memoryLogStore (delayed flush, small reads)', {
  setup: async () => memoryLogStore({ flush: { delayMs: 1 }, maxReadEntries: 7 }),
  flushControl: (store) => ({
    hold: () => asMemory(store).hold(),
    release: async () => asMemory(store).release(),
  }),
});
