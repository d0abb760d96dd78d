import { failedCases, type LogStorageHarness, logStorageCases, runCases } from '@flotilla/testkit';
import type { Entry, IoFlushed, RaftLogStorage } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { type MemoryLogStore, memoryLogStore } from '../src/index.ts';

/** A store that delegates to `inner` but lets a test replace `append`. */
function wrap(
  inner: MemoryLogStore,
  append: (entries: readonly Entry[], cb: IoFlushed) => Promise<void>,
): RaftLogStorage {
  return {
    getLogState: () => inner.getLogState(),
    readVote: () => inner.readVote(),
    saveVote: (v) => inner.saveVote(v),
    append,
    truncate: (s) => inner.truncate(s),
    purge: (u) => inner.purge(u),
    saveCommitted: (c) => inner.saveCommitted(c),
    readCommitted: () => inner.readCommitted(),
    reader: () => inner.reader(),
  };
}

function harness(make: () => RaftLogStorage): LogStorageHarness {
  return { setup: async () => make(), flushTimeoutMs: 300 };
}

async function failures(h: LogStorageHarness): Promise<string[]> {
  return failedCases(await runCases(logStorageCases(h)));
}

describe('the log-storage suite rejects broken stores', () => {
  it('passes the correct memory store (control)', async () => {
    expect(await failures(harness(() => memoryLogStore()))).toEqual([]);
  });

  it('fails a store that loses flush callbacks', async () => {
    const failed = await failures(
      harness(() => {
        const inner = memoryLogStore();
        let n = 0;
        return wrap(inner, (es, cb) => inner.append(es, n++ % 3 === 2 ? () => {} : cb));
      }),
    );
    expect(failed).toContain('each append calls its flush callback exactly once');
    expect(failed).toContain('many small appends issued without waiting all flush once');
  });

  it('fails a store that calls a flush callback twice', async () => {
    const failed = await failures(
      harness(() => {
        const inner = memoryLogStore();
        return wrap(inner, (es, cb) =>
          inner.append(es, (err) => {
            cb(err);
            if (es.length > 2) setTimeout(() => cb(err), 5);
          }),
        );
      }),
    );
    expect(failed).toContain('each append calls its flush callback exactly once');
  });

  it('fails a store that allows holes and overlaps', async () => {
    const failed = await failures(
      harness(() => {
        const inner = memoryLogStore();
        return wrap(inner, async (es, cb) => {
          try {
            await inner.append(es, cb);
          } catch {
            // Swallows the misuse: pretends the append worked.
            cb();
          }
        });
      }),
    );
    expect(failed).toEqual(
      expect.arrayContaining([
        'an append leaving a hole is refused',
        'a first append not starting at index 0 is refused',
        'an append overlapping existing entries is refused',
        'an append of non-consecutive entries is refused',
      ]),
    );
  });

  it('fails a store that reports a flush before the data is durable', async () => {
    const h: LogStorageHarness = {
      setup: async () => {
        // The inner store never flushes by itself, yet the wrapper reports every append durable.
        const inner = memoryLogStore({ flush: 'manual' });
        const s = wrap(inner, async (es, cb) => {
          await inner.append(es, () => {});
          cb();
        });
        return Object.assign(s, { inner });
      },
      reopen: async (store) => {
        const inner = (store as RaftLogStorage & { inner: MemoryLogStore }).inner;
        const next = memoryLogStore({ flush: 'manual', initial: inner.crash() });
        return Object.assign(
          wrap(next, async (es, cb) => {
            await next.append(es, () => {});
            cb();
          }),
          { inner: next },
        );
      },
    };
    const failed = await failures(h);
    expect(failed).toContain('append then read returns exactly the entries');
    expect(failed).toContain('flushed entries are durable');
  });
});
