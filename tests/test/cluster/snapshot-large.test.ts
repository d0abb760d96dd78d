import { memoryLogStore } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';
import {
  type AppliedState,
  type ApplyEntry,
  collectSnapshotData,
  emptyStoredMembership,
  type LogId,
  type RaftStateMachine,
  type Snapshot,
  type SnapshotData,
  type SnapshotMeta,
  type StoredMembership,
  snapshotDataOf,
} from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cmd, CONFIG, TestCluster, WAIT } from './harness.ts';

const KEYS = 1_000_000;
const CHUNK = 20_000;

/** A key-value state machine of `KEYS` keys whose snapshot build copies and encodes in yielding chunks. */
class BigKv implements RaftStateMachine<Cmd, number | null> {
  readonly map = new Map<string, number>();
  applied: LogId | null = null;
  membership: StoredMembership = emptyStoredMembership();
  current: { meta: SnapshotMeta; bytes: Uint8Array } | null = null;
  constructor() {
    for (let i = 0; i < KEYS; i++) this.map.set(`key${i}`, i);
  }
  async appliedState(): Promise<AppliedState> {
    return { lastApplied: this.applied, lastMembership: this.membership };
  }
  async apply(entries: readonly ApplyEntry<Cmd>[]): Promise<(number | null | undefined)[]> {
    return entries.map((e) => {
      this.applied = e.logId;
      if (e.payload.type === 'membership')
        this.membership = { logId: e.logId, membership: e.payload.membership };
      if (e.payload.type !== 'normal') return undefined;
      const prev = this.map.get(e.payload.data.key) ?? null;
      this.map.set(e.payload.data.key, e.payload.data.value);
      return prev;
    });
  }
  snapshotBuilder() {
    const meta: SnapshotMeta = {
      lastLogId: this.applied,
      lastMembership: this.membership,
      snapshotId: `s${Date.now()}`,
    };
    const keys = [...this.map.keys()]; // a cheap capture; values are copied chunk by chunk below
    const values = new Map(this.map);
    return {
      buildSnapshot: async (): Promise<Snapshot> => {
        const parts: Uint8Array[] = [];
        for (let at = 0; at < keys.length; at += CHUNK) {
          const slice = keys.slice(at, at + CHUNK).map((k) => [k, values.get(k)]);
          parts.push(new TextEncoder().encode(`${JSON.stringify(slice)}\n`));
          await new Promise((r) => setImmediate(r));
        }
        const bytes = Buffer.concat(parts);
        this.current = { meta, bytes };
        return { meta, data: snapshotDataOf(bytes) };
      },
    };
  }
  async installSnapshot(meta: SnapshotMeta, data: SnapshotData): Promise<void> {
    const bytes = await collectSnapshotData(data);
    this.map.clear();
    for (const line of new TextDecoder().decode(bytes).split('\n')) {
      if (line.length > 0) for (const [k, v] of JSON.parse(line) as [string, number][]) this.map.set(k, v);
    }
    this.applied = meta.lastLogId;
    this.membership = meta.lastMembership;
    this.current = { meta, bytes };
  }
  async getCurrentSnapshot(): Promise<Snapshot | null> {
    return this.current === null
      ? null
      : { meta: this.current.meta, data: snapshotDataOf(this.current.bytes) };
  }
}

let c: TestCluster | null = null;
const extra: Raft<Cmd, number | null>[] = [];
afterEach(async () => {
  await Promise.all(extra.splice(0).map((r) => r.shutdown()));
  c = null;
});

describe('large snapshot', () => {
  it('building a 1,000,000-key snapshot while clients write causes no election and no heartbeat gap over the election timeout', async () => {
    c = new TestCluster();
    const sms = new Map<string, BigKv>();
    for (const id of ['a', 'b', 'c']) {
      const sm = new BigKv();
      sms.set(id, sm);
      const raft = await Raft.create<Cmd, number | null>({
        id,
        config: CONFIG,
        network: c.router.factory(id),
        logStore: memoryLogStore(),
        stateMachine: sm,
      });
      c.router.register(id, raft);
      extra.push(raft);
    }
    const byId = (id: string) => extra.find((r) => r.id === id) as Raft<Cmd, number | null>;
    await byId('a').initialize({ a: { addr: 'a' }, b: { addr: 'b' }, c: { addr: 'c' } });
    const m = await byId('a')
      .wait(WAIT)
      .until((x) => x.currentLeader !== null);
    const leader = byId(m.currentLeader as string);
    await leader.wait(WAIT).state('Leader');
    await leader.clientWrite({ key: 'first', value: 0 }); // something applied to snapshot
    const term = leader.metrics.current.currentTerm;
    // Every message the leader sends to a follower (heartbeats and appends) is timestamped on delivery.
    const seen = new Map<string, number[]>();
    const stamp = (ctx: { from: string; to: string }) => {
      if (ctx.from !== leader.id) return;
      const l = seen.get(ctx.to) ?? [];
      l.push(performance.now());
      seen.set(ctx.to, l);
    };
    c.router.before('appendEntries', stamp);
    c.router.before('streamAppend', stamp);
    const building = leader.trigger.snapshot();
    let writes = 0;
    let done = false;
    const writer = (async () => {
      while (!done) {
        await leader.clientWrite({ key: `w${writes}`, value: writes });
        writes++;
        // A client on another connection: its next request arrives in a later event-loop turn.
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const snap = await building;
    done = true;
    await writer;
    expect(snap).not.toBeNull();
    expect(sms.get(leader.id)?.current?.bytes.byteLength).toBeGreaterThan(KEYS * 10);
    expect(writes).toBeGreaterThan(0);
    // No election: same leader, same term everywhere.
    for (const r of extra) {
      expect(r.metrics.current.currentTerm).toBe(term);
      expect(r.metrics.current.currentLeader).toBe(leader.id);
    }
    const minElection = CONFIG.electionTimeoutMinMs as number;
    for (const [target, times] of seen) {
      let gap = 0;
      for (let i = 1; i < times.length; i++)
        gap = Math.max(gap, (times[i] as number) - (times[i - 1] as number));
      expect(gap, `largest gap to ${target}`).toBeLessThan(minElection);
      console.log(
        `snapshot of ${KEYS} keys: ${writes} writes during the build; largest send gap to ${target}: ${gap.toFixed(0)} ms`,
      );
    }
    expect(seen.size).toBe(2);
  }, 60_000);
});
