import { failedCases, runCases, type StateMachineHarness, stateMachineCases } from '@flotilla/testkit';
import { type ApplyEntry, type RaftStateMachine, type SnapshotSink, snapshotDataOf } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { memoryStateMachine } from '../src/index.ts';

type SM = RaftStateMachine<string, string>;

function listMachine(): SM {
  return memoryStateMachine<string[], string, string>({
    initial: [],
    apply: (s, item) => [[...s, item], `${s.length}:${s[s.length - 1] ?? ''}>${item}`],
  });
}

function harness(make: () => SM, receivesSnapshots = false): StateMachineHarness<string, string> {
  return { setup: async () => make(), command: (i) => `c${i}`, receivesSnapshots };
}

async function failures(make: () => SM, receivesSnapshots = false): Promise<string[]> {
  return failedCases(await runCases(stateMachineCases(harness(make, receivesSnapshots))));
}

/** The list machine with a `beginReceivingSnapshot` whose sink keeps `keep(chunks)` of what it got. */
function receivingMachine(keep: (chunks: Uint8Array[]) => Uint8Array[]): SM {
  const inner = listMachine();
  return Object.assign(inner, {
    beginReceivingSnapshot: async (): Promise<SnapshotSink> => {
      const chunks: Uint8Array[] = [];
      return {
        write: async (c: Uint8Array) => {
          chunks.push(c.slice());
        },
        finish: async () => snapshotDataOf(Buffer.concat(keep(chunks))),
        discard: async () => {
          chunks.length = 0;
        },
      };
    },
  });
}

describe('the state-machine suite rejects broken state machines', () => {
  it('passes the correct memory state machine (control)', async () => {
    expect(await failures(listMachine)).toEqual([]);
  });

  it('fails a state machine that applies a batch out of order', async () => {
    const failed = await failures(() => {
      const inner = listMachine();
      return Object.assign(Object.create(null), {
        appliedState: () => inner.appliedState(),
        snapshotBuilder: () => inner.snapshotBuilder(),
        installSnapshot: (m: Parameters<SM['installSnapshot']>[0], d: Parameters<SM['installSnapshot']>[1]) =>
          inner.installSnapshot(m, d),
        getCurrentSnapshot: () => inner.getCurrentSnapshot(),
        // Applies the payloads of a batch back to front (log ids kept in order).
        apply: (entries: readonly ApplyEntry<string>[]) => {
          const payloads = entries.map((e) => e.payload).reverse();
          return inner.apply(entries.map((e, i) => ({ logId: e.logId, payload: payloads[i]! })));
        },
      }) as SM;
    });
    expect(failed).toContain('a batch gives the responses of its entries applied one by one, in order');
  });

  it('fails a state machine whose snapshot builder reads the state late', async () => {
    const failed = await failures(() => {
      const inner = listMachine();
      return {
        appliedState: () => inner.appliedState(),
        apply: (es) => inner.apply(es),
        installSnapshot: (m, d) => inner.installSnapshot(m, d),
        getCurrentSnapshot: () => inner.getCurrentSnapshot(),
        snapshotBuilder: () => ({ buildSnapshot: () => inner.snapshotBuilder().buildSnapshot() }),
      };
    });
    expect(failed).toEqual(['a builder captures the state when it is made, not later applies']);
  });

  it('passes a state machine whose receive sink keeps every chunk (control), fails one that drops chunks', async () => {
    expect(await failures(() => receivingMachine((cs) => cs), true)).toEqual([]);
    expect(await failures(() => receivingMachine((cs) => cs.slice(1)), true)).toEqual([
      'a snapshot spooled through beginReceivingSnapshot installs the same; a discarded one changes nothing',
    ]);
  });

  it('fails a state machine whose install is not atomic', async () => {
    const failed = await failures(() => {
      const inner = listMachine();
      return {
        appliedState: () => inner.appliedState(),
        apply: (es) => inner.apply(es),
        getCurrentSnapshot: () => inner.getCurrentSnapshot(),
        snapshotBuilder: () => inner.snapshotBuilder(),
        // Forgets what it had before reading the data: a failed read leaves an empty state.
        installSnapshot: async (meta, data) => {
          await inner.installSnapshot(
            { ...meta, lastLogId: null, snapshotId: 'wiped' },
            (async function* () {
              yield new TextEncoder().encode('[]');
            })(),
          );
          await inner.installSnapshot(meta, data);
        },
      };
    });
    expect(failed).toContain('a failed install changes nothing');
  });
});
