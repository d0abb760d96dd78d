import { failedCases, type LogStorageHarness, logStorageCases, runCases } from '@flotilla/testkit';
import { type LogId, type RaftLogStorage, StorageMisuseError } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { type MemoryLogStore, memoryLogStore } from '../src/index.ts';

/** A store that delegates to `inner` but lets a test replace `purge`. */
function withPurge(inner: MemoryLogStore, purge: (upto: LogId) => Promise<void>): RaftLogStorage {
  return {
    getLogState: () => inner.getLogState(),
    readVote: () => inner.readVote(),
    saveVote: (v) => inner.saveVote(v),
    append: (es, cb) => inner.append(es, cb),
    truncate: (s) => inner.truncate(s),
    purge,
    saveCommitted: (c) => inner.saveCommitted(c),
    readCommitted: () => inner.readCommitted(),
    reader: () => inner.reader(),
  };
}

async function failures(h: LogStorageHarness): Promise<string[]> {
  return failedCases(await runCases(logStorageCases(h)));
}

/** The cases a store that cannot purge beyond its last entry must fail. */
const BEYOND_END_CASES = [
  'a purge beyond the last entry empties the log and reports upto as purged and last',
  'a purge of an empty log records the purged id',
  'an append after a purge beyond the end continues at upto.index + 1',
  'getKeyLogIds works on entries appended after a purge beyond the end',
  'an append not continuing after a purge beyond the end is refused',
  'a purge beyond the end is durable once a later write is',
  'a partial purge then a purge beyond the end',
  'a random sequence of writes matches a model log',
];

describe('the log-storage suite checks purges beyond the last entry', () => {
  it('passes the correct memory store re-opened at every durable point (control)', async () => {
    const h: LogStorageHarness = {
      setup: async () => memoryLogStore(),
      reopen: async (store) => memoryLogStore({ initial: (store as MemoryLogStore).crash() }),
      flushTimeoutMs: 300,
    };
    expect(await failures(h)).toEqual([]);
  });

  it('fails a store that refuses a purge beyond the end', async () => {
    const failed = await failures({
      setup: async () => {
        const inner = memoryLogStore();
        return withPurge(inner, async (upto) => {
          const { lastLogId } = await inner.getLogState();
          if (lastLogId === null || upto.index > lastLogId.index)
            throw new StorageMisuseError('PurgeBeyondEnd', 'purge beyond the last entry');
          await inner.purge(upto);
        });
      },
      flushTimeoutMs: 300,
    });
    expect(failed).toEqual(expect.arrayContaining(BEYOND_END_CASES));
  });

  it('fails a store that purges only up to its last entry', async () => {
    const failed = await failures({
      setup: async () => {
        const inner = memoryLogStore();
        return withPurge(inner, async (upto) => {
          const { lastLogId } = await inner.getLogState();
          if (lastLogId === null) return;
          await inner.purge(upto.index > lastLogId.index ? lastLogId : upto);
        });
      },
      flushTimeoutMs: 300,
    });
    expect(failed).toEqual(expect.arrayContaining(BEYOND_END_CASES));
  });

  it('fails a store that forgets the purged id of an empty log on re-open', async () => {
    const failed = await failures({
      setup: async () => memoryLogStore(),
      reopen: async (store) => {
        const disk = (store as MemoryLogStore).crash();
        // The bug: the purged id is derived from what the log still holds.
        if (disk.entries.length === 0) disk.lastPurgedLogId = null;
        return memoryLogStore({ initial: disk });
      },
      flushTimeoutMs: 300,
    });
    expect(failed).toContain('a purge beyond the end is durable once a later write is');
    expect(failed).not.toContain(
      'a purge beyond the last entry empties the log and reports upto as purged and last',
    );
  });
});
