import { stateMachineSuite } from '@flotilla/testkit';
import { type MemoryStateMachine, memoryStateMachine } from '../src/index.ts';

/** An order-sensitive app: a list of items; each command answers the list's length and a checksum. */
type ListState = { items: string[]; checksum: number };

function listMachine(): MemoryStateMachine<ListState, string, string> {
  return memoryStateMachine<ListState, string, string>({
    initial: { items: [], checksum: 0 },
    apply: (s, item, logId) => {
      const checksum = (s.checksum * 31 + item.length + logId.index) % 1_000_003;
      return [{ items: [...s.items, item], checksum }, `${s.items.length + 1}:${item}:${checksum}`];
    },
  });
}

stateMachineSuite('memoryStateMachine (JSON snapshots)', {
  setup: async () => listMachine(),
  command: (i) => `item-${i}`,
  digest: async (sm) => (sm as MemoryStateMachine<ListState, string, string>).state,
});

stateMachineSuite('memoryStateMachine (custom codec, no digest)', {
  setup: async () =>
    memoryStateMachine<number[], number, number>({
      initial: [],
      apply: (s, n) => [[...s, n], s.reduce((acc, x, i) => acc + x * (i + 1), 0) + n * (s.length + 1)],
      encodeState: (s) => Uint8Array.from(s),
      decodeState: (b) => {
        if (b.byteLength > 0 && b[0] === 0xff) throw new Error('bad snapshot');
        return [...b];
      },
    }),
  command: (i) => (i * 7 + 3) % 250,
});
