import type { Entry, LogId, Vote } from '@flotilla/types';
import { fileLogStore } from '../src/index.ts';
import type { CrashFileIO } from '../src/testing/index.ts';
import { entries } from './helpers.ts';

/** One step of the scripted workload. */
export type Step =
  | { k: 'vote'; vote: Vote }
  | { k: 'commit'; committed: LogId }
  | { k: 'append'; es: Entry[]; awaitFlush: boolean }
  | { k: 'truncate'; at: number }
  | { k: 'purge'; upto: number }
  | { k: 'purgeBeyondEnd'; upto: LogId };

/** What the log looks like after some prefix of the script. */
export interface ModelState {
  log: Entry[];
  purged: LogId | null;
  vote: Vote | null;
  committed: LogId | null;
}

/**
 * Appends, truncates, purges (also beyond the last entry), votes and commits, crossing segment
 * boundaries on small segments.
 */
export const SCRIPT: Step[] = [
  { k: 'vote', vote: { term: 1, nodeId: 'a', committed: false } },
  { k: 'append', es: entries(1, 0, 4, 20), awaitFlush: false },
  { k: 'append', es: entries(1, 4, 7, 20), awaitFlush: true },
  { k: 'commit', committed: { term: 1, index: 3 } },
  { k: 'truncate', at: 5 },
  { k: 'append', es: entries(2, 5, 9, 20), awaitFlush: false },
  { k: 'vote', vote: { term: 2, nodeId: 'b', committed: true } },
  { k: 'purge', upto: 3 },
  { k: 'append', es: entries(2, 9, 13, 20), awaitFlush: false },
  { k: 'append', es: entries(2, 13, 14, 20), awaitFlush: true },
  { k: 'truncate', at: 10 },
  { k: 'append', es: entries(3, 10, 12, 20), awaitFlush: false },
  { k: 'purge', upto: 9 },
  { k: 'vote', vote: { term: 3, nodeId: 'c', committed: false } },
  { k: 'append', es: entries(3, 12, 15, 20), awaitFlush: true },
  // A snapshot install past the log, issued while an append is still being written. That append
  // leaves room in its segment, so a recovery that kept the purged segment would append 25 after 15
  // in it. The log then continues after the purged id, in a new segment.
  { k: 'append', es: entries(3, 15, 16, 20), awaitFlush: false },
  { k: 'purgeBeyondEnd', upto: { term: 4, index: 24 } },
  { k: 'append', es: entries(4, 25, 28, 20), awaitFlush: false },
  { k: 'commit', committed: { term: 4, index: 24 } },
  { k: 'append', es: entries(4, 28, 30, 20), awaitFlush: true },
];

/** Applies one step to a model state. */
export function applyStep(s: ModelState, step: Step): ModelState {
  switch (step.k) {
    case 'vote':
      return { ...s, vote: step.vote };
    case 'commit':
      return { ...s, committed: step.committed };
    case 'append':
      return { ...s, log: [...s.log, ...step.es] };
    case 'truncate':
      return { ...s, log: s.log.filter((e) => e.logId.index < step.at) };
    case 'purge': {
      const e = s.log.find((x) => x.logId.index === step.upto) as Entry;
      return { ...s, purged: e.logId, log: s.log.filter((x) => x.logId.index > step.upto) };
    }
    case 'purgeBeyondEnd':
      return { ...s, purged: step.upto, log: s.log.filter((x) => x.logId.index > step.upto.index) };
  }
}

/** Model states after each prefix of `SCRIPT` (index 0: before any step). */
export function modelStates(): ModelState[] {
  const out: ModelState[] = [{ log: [], purged: null, vote: null, committed: null }];
  for (const step of SCRIPT) out.push(applyStep(out[out.length - 1] as ModelState, step));
  return out;
}

/** Store options for crash tests: segments of a few records each. */
export const CRASH_OPTS = { segmentBytes: 120, cacheEntries: 2 };

/**
 * The preallocation settings the crash enumeration runs under: none (every batch grows its file),
 * zeros a record or so ahead (refilled often, crashes land in and between fills), and the default
 * (each segment zero-filled to `segmentBytes` after its first batch).
 */
export const CRASH_PREALLOCATIONS: { name: string; opts: { preallocateBytes?: number } }[] = [
  { name: 'no preallocation', opts: { preallocateBytes: 0 } },
  { name: 'preallocating 40 bytes ahead', opts: { preallocateBytes: 40 } },
  { name: 'default preallocation', opts: {} },
];

/**
 * Runs the script on `io` (which may crash part-way) and returns the number of the last step whose
 * durability was acknowledged (flush callback without error, or a resolved vote/commit save).
 */
export async function runScript(io: CrashFileIO, opts: { preallocateBytes?: number } = {}): Promise<number> {
  let durable = 0;
  let store: Awaited<ReturnType<typeof fileLogStore>>;
  try {
    store = await fileLogStore('/s', { ...CRASH_OPTS, ...opts, io });
  } catch {
    return durable;
  }
  const flushes: Promise<void>[] = [];
  try {
    for (const [i, step] of SCRIPT.entries()) {
      const n = i + 1;
      if (step.k === 'vote') {
        await store.saveVote(step.vote);
        durable = Math.max(durable, n);
      } else if (step.k === 'commit') {
        await store.saveCommitted(step.committed);
        durable = Math.max(durable, n);
      } else if (step.k === 'truncate') await store.truncate({ term: 0, index: step.at });
      else if (step.k === 'purge') {
        const [e] = await store.reader().tryGetLogEntries(step.upto, step.upto + 1);
        await store.purge((e as Entry).logId);
      } else if (step.k === 'purgeBeyondEnd') await store.purge(step.upto);
      else {
        const flushed = new Promise<void>((resolve) => {
          store
            .append(step.es, (err) => {
              if (err === undefined) durable = Math.max(durable, n);
              resolve();
            })
            .catch(() => resolve());
        });
        flushes.push(flushed);
        if (step.awaitFlush) await flushed;
      }
    }
  } catch {
    // The simulated process died.
  }
  await Promise.all(flushes);
  await store.sync().catch(() => undefined);
  return durable;
}
