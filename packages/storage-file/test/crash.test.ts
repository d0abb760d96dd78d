import type { Entry, LogId, Vote } from '@flotilla/types';
import { compareVote } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { fileLogStore } from '../src/index.ts';
import { CrashFileIO, type CrashVariant } from '../src/testing/index.ts';
import {
  CRASH_OPTS,
  CRASH_PREALLOCATIONS,
  type ModelState,
  modelStates,
  runScript,
  SCRIPT,
} from './crash-script.ts';
import { recordsEnd } from './helpers.ts';

const STATES = modelStates();

function freshIo(): CrashFileIO {
  return new CrashFileIO();
}

/**
 * Candidate logs after a crash once step `d` is durable: the log after any later step, or after one
 * plus part of the next append, or part-way through the next truncate.
 */
function candidateLogs(d: number): Entry[][] {
  const out: Entry[][] = [];
  for (let k = d; k < STATES.length; k++) {
    const s = STATES[k] as ModelState;
    out.push(s.log);
    const next = SCRIPT[k];
    if (next?.k === 'append')
      for (let j = 1; j < next.es.length; j++) out.push([...s.log, ...next.es.slice(0, j)]);
    // A truncate cut short by the crash: later segments removed, the tail segment not yet cut.
    if (next?.k === 'truncate')
      for (const e of s.log)
        if (e.logId.index > next.at) out.push(s.log.filter((x) => x.logId.index < e.logId.index));
  }
  return out;
}

const key = (x: LogId | Vote | null) => JSON.stringify(x);

type Prealloc = { preallocateBytes?: number };

async function checkRecovered(io: CrashFileIO, durable: number, what: string, opts: Prealloc): Promise<void> {
  const s = await fileLogStore('/s', { ...CRASH_OPTS, ...opts, io });
  try {
    const state = await s.getLogState();
    const log = await s.reader().tryGetLogEntries(0, 1_000);
    const vote = await s.readVote();
    const committed = await s.readCommitted();
    const purged = state.lastPurgedLogId;
    const later = STATES.slice(durable);
    // The purged id, vote and committed id come from the durable step or a later one: never go back.
    expect(
      later.some((m) => key(m.purged) === key(purged)),
      `${what}: purged ${key(purged)}`,
    ).toBe(true);
    expect(
      later.some((m) => key(m.vote) === key(vote)),
      `${what}: vote ${key(vote)}`,
    ).toBe(true);
    expect(
      later.some((m) => key(m.committed) === key(committed)),
      `${what}: committed ${key(committed)}`,
    ).toBe(true);
    const base = STATES[durable] as ModelState;
    if (base.vote !== null)
      expect(vote !== null && (compareVote(vote, base.vote) ?? -1) >= 0, what).toBe(true);
    // The log is exactly one possible history above the purged id: no holes, nothing resurrected,
    // and every acknowledged entry present and intact.
    const above = (l: Entry[]) => l.filter((e) => e.logId.index > (purged?.index ?? -1));
    const ok = candidateLogs(durable).some((c) => JSON.stringify(above(c)) === JSON.stringify(log));
    expect(ok, `${what}: log ${log.map((e) => `${e.logId.term}-${e.logId.index}`).join(',')}`).toBe(true);
    expect(state.lastLogId, `${what}: last log id`).toEqual(log[log.length - 1]?.logId ?? purged);
    // The recovered store keeps working: an append after it survives one more re-open, on top of
    // exactly the recovered log (nothing left over by recovery may garble it).
    const next = (state.lastLogId?.index ?? -1) + 1;
    const added: Entry = { logId: { term: 9, index: next }, payload: { type: 'blank' } };
    await new Promise<void>((resolve, reject) => {
      s.append([added], (err) => (err ? reject(err) : resolve())).catch(reject);
    });
    await s.close();
    const again = await fileLogStore('/s', { ...CRASH_OPTS, ...opts, io });
    try {
      expect(await again.getLogState(), `${what}: state after append and re-open`).toEqual({
        lastPurgedLogId: purged,
        lastLogId: added.logId,
      });
      expect(
        await again.reader().tryGetLogEntries(0, 1_000),
        `${what}: log after append and re-open`,
      ).toEqual([...log, added]);
    } finally {
      await again.close();
    }
  } finally {
    await s.close();
  }
}

describe.each(CRASH_PREALLOCATIONS)('crash consistency, $name', ({ opts }) => {
  it('every crash point of the script × every crash variant recovers a consistent, durable history', async () => {
    const clean = freshIo();
    const all = await runScript(clean, opts);
    expect(all).toBe(SCRIPT.length);
    // Preallocating runs really leave zeros after the records (and crash points inside the fills).
    const zeroTails = (await clean.readdir('/s'))
      .filter((n) => n.endsWith('.seg'))
      .map((n) => clean.peek(`/s/${n}`) as Uint8Array)
      .filter((b) => b.byteLength > recordsEnd(b)).length;
    expect(zeroTails > 0).toBe(opts.preallocateBytes !== 0);
    const points = clean.mutations;
    expect(points).toBeGreaterThan(40);
    let runs = 0;
    let torn = 0;
    for (let n = 0; n <= points; n++) {
      const probe = freshIo();
      probe.crashAfter = n;
      const durable = await runScript(probe, opts);
      const pending = probe.pendingCount;
      const variants: CrashVariant[] = [
        'loseUnsynced',
        'tearLastWrite',
        'loseRenames',
        { keepPrefix: 1 },
        { keepPrefix: Math.floor(pending / 2) },
        { keepPrefix: pending },
      ];
      for (const v of variants) {
        const io = probe.crash(v);
        await checkRecovered(io, durable, `crash after ${n} mutations, ${JSON.stringify(v)}`, opts);
        runs++;
        const s2 = await fileLogStore('/s', { ...CRASH_OPTS, ...opts, io: probe.crash(v) });
        if (s2.recovery.tornTail !== null) torn++;
        await s2.close();
      }
    }
    expect(runs).toBe((points + 1) * 6);
    // The enumeration really exercises torn tails.
    expect(torn).toBeGreaterThan(0);
  });
});
