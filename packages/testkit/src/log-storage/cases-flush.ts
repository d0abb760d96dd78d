import { sleep, systemClock } from '@flotilla/types';
import { expect } from 'vitest';
import type { ConformanceCase } from '../case.ts';
import { entriesOf, FlushProbe } from '../testing/fixtures.ts';
import { type LogStorageHarness, withStore } from './harness.ts';

/** How long the suite waits for a late (duplicate or premature) flush callback. */
const SETTLE_MS = 50;

/** Flush callback cases: exactly once, in order, durable, readable before durable. */
export function flushCases(harness: LogStorageHarness): ConformanceCase[] {
  const c = (name: string, run: Parameters<typeof withStore>[1]): ConformanceCase => ({
    name,
    run: () => withStore(harness, run),
  });
  const cases: ConformanceCase[] = [
    c('each append calls its flush callback exactly once', async (s) => {
      const probes: FlushProbe[] = [];
      for (let i = 0; i < 10; i++) {
        const p = new FlushProbe();
        probes.push(p);
        await s.store.append(entriesOf(1, i * 3, i * 3 + 3), p.onFlushed);
      }
      for (const p of probes) await p.flushed(s.flushTimeoutMs);
      // Later writes must not re-run earlier callbacks.
      await s.store.saveVote({ term: 2, nodeId: 'n1', committed: false });
      await s.appendFlushed(entriesOf(2, 30, 31));
      await sleep(systemClock, SETTLE_MS);
      expect(probes.map((p) => p.calls)).toEqual(probes.map(() => 1));
      expect(probes.every((p) => p.errors[0] === undefined)).toBe(true);
    }),
    c('flush callbacks run in append order', async (s) => {
      const order = { n: 0 };
      const probes = Array.from({ length: 8 }, () => new FlushProbe(order));
      for (const [i, p] of probes.entries())
        await s.store.append(entriesOf(1, i * 2, i * 2 + 2), p.onFlushed);
      for (const p of probes) await p.flushed(s.flushTimeoutMs);
      expect(probes.map((p) => p.firstCallAt)).toEqual(probes.map((_, i) => i));
    }),
    c('flushed entries are durable', async (s) => {
      const es = entriesOf(1, 0, 20);
      await s.appendFlushed(es.slice(0, 10));
      await s.appendFlushed(es.slice(10));
      await s.expectLog(es, { lastPurgedLogId: null, lastLogId: { term: 1, index: 19 } });
    }),
    c('a flush makes earlier truncates and purges durable', async (s) => {
      await s.appendFlushed(entriesOf(1, 0, 10));
      await s.store.truncate({ term: 1, index: 7 });
      await s.store.purge({ term: 1, index: 2 });
      await s.appendFlushed(entriesOf(2, 7, 9));
      await s.expectLog([...entriesOf(1, 3, 7), ...entriesOf(2, 7, 9)], {
        lastPurgedLogId: { term: 1, index: 2 },
        lastLogId: { term: 2, index: 8 },
      });
    }),
    c('many small appends issued without waiting all flush once', async (s) => {
      const probes: FlushProbe[] = [];
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        const p = new FlushProbe();
        probes.push(p);
        // Writes are serialized by the caller: each append is issued after the previous resolved.
        pending.push(s.store.append(entriesOf(1, i, i + 1), p.onFlushed));
        await pending[pending.length - 1];
      }
      await Promise.all(probes.map((p) => p.flushed(s.flushTimeoutMs)));
      await sleep(systemClock, SETTLE_MS);
      expect(probes.filter((p) => p.calls !== 1).length, 'probes not called exactly once').toBe(0);
      expect((await s.state()).lastLogId).toEqual({ term: 1, index: 99 });
    }),
  ];
  if (harness.flushControl !== undefined) {
    const control = harness.flushControl.bind(harness);
    cases.push(
      c('entries are readable before they are durable', async (s) => {
        const fc = control(s.store);
        fc.hold();
        const p = new FlushProbe();
        const es = entriesOf(1, 0, 5);
        await s.store.append(es, p.onFlushed);
        expect(await s.read(0, 10)).toEqual(es);
        expect((await s.state()).lastLogId).toEqual({ term: 1, index: 4 });
        await sleep(systemClock, SETTLE_MS);
        expect(p.calls, 'flush callback ran while the flush was held').toBe(0);
        await fc.release();
        await p.flushed(s.flushTimeoutMs);
        expect(p.calls).toBe(1);
      }),
      c('appends continue while earlier ones are not yet durable', async (s) => {
        const fc = control(s.store);
        fc.hold();
        const order = { n: 0 };
        const probes = [new FlushProbe(order), new FlushProbe(order), new FlushProbe(order)];
        for (const [i, p] of probes.entries())
          await s.store.append(entriesOf(1, i * 4, i * 4 + 4), p.onFlushed);
        expect(await s.read(0, 100)).toEqual(entriesOf(1, 0, 12));
        expect(probes.map((p) => p.calls)).toEqual([0, 0, 0]);
        await fc.release();
        for (const p of probes) await p.flushed(s.flushTimeoutMs);
        await sleep(systemClock, SETTLE_MS);
        expect(probes.map((p) => [p.calls, p.firstCallAt])).toEqual([
          [1, 0],
          [1, 1],
          [1, 2],
        ]);
      }),
      c('a truncate while appends are not yet durable keeps callbacks once each', async (s) => {
        const fc = control(s.store);
        await s.appendFlushed(entriesOf(1, 0, 4));
        fc.hold();
        const a = new FlushProbe();
        const b = new FlushProbe();
        await s.store.append(entriesOf(1, 4, 8), a.onFlushed);
        // A truncate is durable when it resolves, with every earlier write: it may wait for the
        // held flush, so release it before waiting.
        const truncated = s.store.truncate({ term: 1, index: 6 });
        await fc.release();
        await truncated;
        await a.flushed(s.flushTimeoutMs);
        await s.store.append(entriesOf(2, 6, 7), b.onFlushed);
        expect(await s.read(0, 100)).toEqual([...entriesOf(1, 0, 6), ...entriesOf(2, 6, 7)]);
        await b.flushed(s.flushTimeoutMs);
        await sleep(systemClock, SETTLE_MS);
        expect([a.calls, b.calls]).toEqual([1, 1]);
      }),
    );
  }
  return cases;
}
