import {
  collectSnapshotData,
  emptyStoredMembership,
  type RaftStateMachine,
  type SnapshotMeta,
  snapshotDataOf,
} from '@flotilla/types';
import { expect } from 'vitest';
import { assertUniqueNames, type ConformanceCase } from '../case.ts';
import { sampleMembership } from '../testing/fixtures.ts';
import {
  blankApplyEntry,
  commandEntries,
  membershipApplyEntry,
  type StateMachineHarness,
} from './harness.ts';

/** The state-machine conformance cases for a harness. */
export function stateMachineCases<D, R>(harness: StateMachineHarness<D, R>): ConformanceCase[] {
  type SM = RaftStateMachine<D, R>;
  const withSms = async (n: number, body: (...sms: SM[]) => Promise<void>): Promise<void> => {
    const sms: SM[] = [];
    try {
      for (let i = 0; i < n; i++) sms.push(await harness.setup());
      await body(...sms);
    } finally {
      for (const sm of sms) await harness.teardown?.(sm);
    }
  };
  const c = (name: string, n: number, body: (...sms: SM[]) => Promise<void>): ConformanceCase => ({
    name,
    run: () => withSms(n, body),
  });
  const digest = async (sm: SM): Promise<unknown> =>
    harness.digest === undefined ? null : harness.digest(sm);
  const cmds = (from: number, to: number, term = 1) => commandEntries(harness, term, from, to);
  /** Applies each entry alone and returns the responses. */
  const oneByOne = async (sm: SM, from: number, to: number): Promise<(R | undefined)[]> => {
    const out: (R | undefined)[] = [];
    for (const e of cmds(from, to)) out.push(...(await sm.apply([e])));
    return out;
  };

  return assertUniqueNames([
    c('a new state machine has applied nothing', 1, async (sm) => {
      expect(await sm!.appliedState()).toEqual({
        lastApplied: null,
        lastMembership: emptyStoredMembership(),
      });
      expect(await sm!.getCurrentSnapshot()).toBeNull();
    }),
    c('apply returns one response per entry', 1, async (sm) => {
      const es = [blankApplyEntry<D>(1, 0), ...cmds(1, 4), membershipApplyEntry<D>(1, 4, sampleMembership())];
      const rs = await sm!.apply(es);
      expect(rs.length).toBe(es.length);
      expect(await sm!.apply([])).toEqual([]);
    }),
    c('applied state follows the last applied entry', 1, async (sm) => {
      await sm!.apply(cmds(0, 3));
      expect((await sm!.appliedState()).lastApplied).toEqual({ term: 1, index: 2 });
      await sm!.apply([blankApplyEntry(2, 3)]);
      expect((await sm!.appliedState()).lastApplied).toEqual({ term: 2, index: 3 });
    }),
    c('a membership entry becomes the last membership with its log id', 1, async (sm) => {
      const m = sampleMembership();
      await sm!.apply([blankApplyEntry(1, 0), membershipApplyEntry(1, 1, m), ...cmds(2, 4)]);
      expect(await sm!.appliedState()).toEqual({
        lastApplied: { term: 1, index: 3 },
        lastMembership: { logId: { term: 1, index: 1 }, membership: m },
      });
    }),
    c('the same entries give the same responses on two instances', 2, async (a, b) => {
      const ra = await a!.apply(cmds(0, 20));
      const rb = await b!.apply(cmds(0, 20));
      expect(ra).toEqual(rb);
      expect(await digest(a!)).toEqual(await digest(b!));
    }),
    c('a batch gives the responses of its entries applied one by one, in order', 2, async (a, b) => {
      const batch = await a!.apply(cmds(0, 12));
      const single = await oneByOne(b!, 0, 12);
      expect(batch).toEqual(single);
      expect(await digest(a!)).toEqual(await digest(b!));
    }),
    c('entries are applied in log order (order-sensitive commands)', 2, async (a, b) => {
      const es = cmds(0, 6);
      const inOrder = await a!.apply(es);
      // Same commands, different order, each re-indexed to stay consecutive.
      const swapped = [es[1]!, es[0]!, ...es.slice(2)].map((e, i) => ({
        ...e,
        logId: { term: 1, index: i },
      }));
      const other = await b!.apply(swapped);
      expect(other, 'the harness commands must be order-sensitive').not.toEqual(inOrder);
      const c2 = await harness.setup();
      try {
        expect(await oneByOne(c2, 0, 6)).toEqual(inOrder);
      } finally {
        await harness.teardown?.(c2);
      }
    }),
    c('apply continues across batches of different sizes', 2, async (a, b) => {
      const all = await a!.apply(cmds(0, 15));
      const parts = [
        ...(await b!.apply(cmds(0, 1))),
        ...(await b!.apply(cmds(1, 8))),
        ...(await b!.apply(cmds(8, 15))),
      ];
      expect(parts).toEqual(all);
    }),
    c('a built snapshot covers the applied state and becomes current', 1, async (sm) => {
      const m = sampleMembership();
      await sm!.apply([membershipApplyEntry(1, 0, m), ...cmds(1, 5)]);
      const snap = await sm!.snapshotBuilder().buildSnapshot();
      expect(snap.meta.lastLogId).toEqual({ term: 1, index: 4 });
      expect(snap.meta.lastMembership).toEqual({ logId: { term: 1, index: 0 }, membership: m });
      expect(typeof snap.meta.snapshotId).toBe('string');
      const cur = await sm!.getCurrentSnapshot();
      expect(cur?.meta).toEqual(snap.meta);
      expect(await collectSnapshotData(cur!.data)).toEqual(await collectSnapshotData(snap.data));
    }),
    c('getCurrentSnapshot returns a fresh data stream each time', 1, async (sm) => {
      await sm!.apply(cmds(0, 4));
      await sm!.snapshotBuilder().buildSnapshot();
      const a = await sm!.getCurrentSnapshot();
      const b = await sm!.getCurrentSnapshot();
      const bytesA = await collectSnapshotData(a!.data);
      expect(await collectSnapshotData(b!.data)).toEqual(bytesA);
    }),
    c('snapshots of different states have different ids', 1, async (sm) => {
      await sm!.apply(cmds(0, 2));
      const s1 = await sm!.snapshotBuilder().buildSnapshot();
      await sm!.apply(cmds(2, 4));
      const s2 = await sm!.snapshotBuilder().buildSnapshot();
      expect(s2.meta.snapshotId).not.toEqual(s1.meta.snapshotId);
      expect(s2.meta.lastLogId).toEqual({ term: 1, index: 3 });
    }),
    c('a builder captures the state when it is made, not later applies', 2, async (a, b) => {
      await a!.apply(cmds(0, 3));
      const builder = a!.snapshotBuilder();
      await a!.apply(cmds(3, 6));
      const snap = await builder.buildSnapshot();
      expect(snap.meta.lastLogId).toEqual({ term: 1, index: 2 });
      await b!.installSnapshot(snap.meta, snap.data);
      expect(await b!.apply(cmds(3, 6))).toEqual(await oneByOneFresh(3, 6, 0));
    }),
    c('an installed snapshot carries the whole state', 2, async (a, b) => {
      const m = sampleMembership(['x', 'y', 'z']);
      await a!.apply([...cmds(0, 5), membershipApplyEntry(2, 5, m), ...cmds(6, 9)]);
      const snap = await a!.snapshotBuilder().buildSnapshot();
      await b!.installSnapshot(snap.meta, snap.data);
      expect(await b!.appliedState()).toEqual(await a!.appliedState());
      expect(await digest(b!)).toEqual(await digest(a!));
      // The next commands give the same responses on both.
      expect(await b!.apply(cmds(9, 14))).toEqual(await a!.apply(cmds(9, 14)));
    }),
    c('an installed snapshot becomes the current snapshot', 2, async (a, b) => {
      await a!.apply(cmds(0, 4));
      const snap = await a!.snapshotBuilder().buildSnapshot();
      const bytes = await collectSnapshotData((await a!.getCurrentSnapshot())!.data);
      await b!.installSnapshot(snap.meta, snap.data);
      const cur = await b!.getCurrentSnapshot();
      expect(cur?.meta).toEqual(snap.meta);
      expect(await collectSnapshotData(cur!.data)).toEqual(bytes);
    }),
    c('installing a snapshot replaces a state that is ahead of it', 2, async (a, b) => {
      await a!.apply(cmds(0, 3));
      const snap = await a!.snapshotBuilder().buildSnapshot();
      await b!.apply([...cmds(0, 10)]);
      await b!.installSnapshot(snap.meta, snap.data);
      expect(await b!.appliedState()).toEqual(await a!.appliedState());
      expect(await digest(b!)).toEqual(await digest(a!));
      expect(await b!.apply(cmds(3, 5))).toEqual(await a!.apply(cmds(3, 5)));
    }),
    c('a failed install changes nothing', 2, async (a, b) => {
      await a!.apply(cmds(0, 6));
      const snap = await a!.snapshotBuilder().buildSnapshot();
      const bytes = await collectSnapshotData(snap.data);
      await b!.apply(cmds(0, 2));
      const before = await b!.appliedState();
      const beforeDigest = await digest(b!);
      async function* broken(): AsyncIterable<Uint8Array> {
        yield bytes.subarray(0, Math.floor(bytes.byteLength / 2));
        throw new Error('connection lost mid-snapshot');
      }
      let failed = false;
      try {
        await b!.installSnapshot(snap.meta, broken());
      } catch {
        failed = true;
      }
      expect(failed, 'installSnapshot must reject when its data stream fails').toBe(true);
      expect(await b!.appliedState()).toEqual(before);
      expect(await digest(b!)).toEqual(beforeDigest);
      expect(await b!.getCurrentSnapshot()).toBeNull();
      // And it still works: the next entries apply on the old state.
      expect(await b!.apply(cmds(2, 4))).toEqual((await oneByOneFresh(0, 4, 0)).slice(2));
    }),
    c('a snapshot re-chunked in transit installs the same', 2, async (a, b) => {
      await a!.apply(cmds(0, 8));
      const snap = await a!.snapshotBuilder().buildSnapshot();
      const bytes = await collectSnapshotData(snap.data);
      const meta: SnapshotMeta = structuredClone(snap.meta);
      await b!.installSnapshot(meta, snapshotDataOf(bytes, 3));
      expect(await b!.appliedState()).toEqual(await a!.appliedState());
      expect(await b!.apply(cmds(8, 10))).toEqual(await a!.apply(cmds(8, 10)));
    }),
    c('a snapshot of an empty state installs', 2, async (a, b) => {
      const snap = await a!.snapshotBuilder().buildSnapshot();
      expect(snap.meta.lastLogId).toBeNull();
      await b!.apply(cmds(0, 3));
      try {
        await b!.installSnapshot(snap.meta, snap.data);
      } catch (err) {
        throw new Error('installing a snapshot of nothing failed', { cause: err });
      }
      expect((await b!.appliedState()).lastApplied).toBeNull();
      expect(await b!.apply(cmds(0, 3))).toEqual(await oneByOneFresh(0, 3, 0));
    }),
    ...(harness.receivesSnapshots === true
      ? [
          c(
            'a snapshot spooled through beginReceivingSnapshot installs the same; a discarded one changes nothing',
            2,
            async (a, b) => {
              if (b!.beginReceivingSnapshot === undefined)
                throw new Error('the harness says receivesSnapshots, but beginReceivingSnapshot is missing');
              await a!.apply(cmds(0, 8));
              const snap = await a!.snapshotBuilder().buildSnapshot();
              const bytes = await collectSnapshotData(snap.data);
              await b!.apply(cmds(0, 2));
              const before = await b!.appliedState();
              // A receive abandoned half-way leaves the state as it was.
              const dropped = await b!.beginReceivingSnapshot(snap.meta);
              await dropped.write(bytes.subarray(0, bytes.byteLength >> 1));
              await dropped.discard();
              expect(await b!.appliedState()).toEqual(before);
              const sink = await b!.beginReceivingSnapshot(structuredClone(snap.meta));
              for (let at = 0; at < bytes.byteLength; at += 5) await sink.write(bytes.subarray(at, at + 5));
              await b!.installSnapshot(structuredClone(snap.meta), await sink.finish());
              await sink.discard();
              expect(await b!.appliedState()).toEqual(await a!.appliedState());
              expect(await digest(b!)).toEqual(await digest(a!));
              expect(await b!.apply(cmds(8, 10))).toEqual(await a!.apply(cmds(8, 10)));
            },
          ),
        ]
      : []),
  ]);

  /** Responses of `[from, to)` applied one by one on a fresh instance after `[0, prefix)`. */
  async function oneByOneFresh(from: number, to: number, prefix: number): Promise<(R | undefined)[]> {
    const sm = await harness.setup();
    try {
      if (prefix > 0) await sm.apply(cmds(0, prefix));
      if (from > prefix) await sm.apply(cmds(prefix, from));
      return await oneByOne(sm, from, to);
    } finally {
      await harness.teardown?.(sm);
    }
  }
}
