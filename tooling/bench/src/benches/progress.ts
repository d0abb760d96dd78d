import { jointQuorum, logIdProgress, majorityQuorum, timestampProgress } from '@flotilla/progress';
import type { LogId } from '@flotilla/types';
import type { Bench } from '../harness.ts';

/** A deterministic xorshift32 stream, so every run replays the same update order. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** Which voter acks next: `n` updates spread over `voters` voters, each ack raising by 1–4. */
function schedule(voters: number, n: number, seed: number): { who: Uint8Array; step: Uint8Array } {
  const r = rng(seed);
  const who = new Uint8Array(n);
  const step = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    who[i] = Math.floor(r() * voters);
    step[i] = 1 + Math.floor(r() * 4);
  }
  return { who, step };
}

/** The quorum value by sorting every value on every update: the baseline the incremental one beats. */
function naiveCommit(values: number[]): number {
  const sorted = [...values].sort((a, b) => b - a);
  return sorted[Math.floor(values.length / 2)] as number;
}

export const bench: Bench = {
  name: 'progress',
  description: 'VecProgress updates per second (commit log ids, lease timestamps) for 3, 5 and 7 voters',
  async run(ctx) {
    const n = ctx.pick(200_000, 20_000);
    const voterCounts = [3, 5, 7];
    ctx.params({ updatesPerRep: n, voterCounts: voterCounts.join(','), seed: 7 });
    const summary: Record<string, number> = {};

    for (const v of voterCounts) {
      const ids = Array.from({ length: v }, (_, i) => `n${i}`);
      const { who, step } = schedule(v, n, 7 + v);

      const commit = await ctx.measure(`logId-${v}-voters`, { opsPerRep: n, reps: 5 }, () => {
        const p = logIdProgress(majorityQuorum(ids));
        const idx = new Array<number>(v).fill(0);
        for (let i = 0; i < n; i++) {
          const k = who[i] as number;
          idx[k] = (idx[k] as number) + (step[i] as number);
          const logId: LogId = { term: 1, index: idx[k] as number };
          p.update(ids[k] as string, logId);
        }
        if (p.quorumAccepted() === null) throw new Error('nothing committed');
      });
      summary[`logIdUpdatesPerSec${v}`] = Math.round(commit.opsPerSec.median);

      const lease = await ctx.measure(`timestamp-${v}-voters`, { opsPerRep: n, reps: 5 }, () => {
        const p = timestampProgress(majorityQuorum(ids));
        const t = new Array<number>(v).fill(0);
        for (let i = 0; i < n; i++) {
          const k = who[i] as number;
          t[k] = (t[k] as number) + (step[i] as number);
          p.update(ids[k] as string, t[k] as number);
        }
        if (!(p.quorumAccepted() > 0)) throw new Error('no lease');
      });
      summary[`timestampUpdatesPerSec${v}`] = Math.round(lease.opsPerSec.median);

      await ctx.measure(`naive-sort-${v}-voters`, { opsPerRep: n, reps: 5 }, () => {
        const t = new Array<number>(v).fill(0);
        let q = 0;
        for (let i = 0; i < n; i++) {
          const k = who[i] as number;
          t[k] = (t[k] as number) + (step[i] as number);
          q = naiveCommit(t);
        }
        if (!(q > 0)) throw new Error('no quorum');
      });
      ctx.ratio(`timestamp-vs-naive-sort-${v}`, `timestamp-${v}-voters`, `naive-sort-${v}-voters`);
    }

    // Joint consensus 5 -> 5 with 3 voters shared (7 distinct).
    const jointIds = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const joint = jointQuorum([jointIds.slice(0, 5), jointIds.slice(2)]);
    const { who, step } = schedule(jointIds.length, n, 99);
    const j = await ctx.measure('timestamp-joint-5+5', { opsPerRep: n, reps: 5 }, () => {
      const p = timestampProgress(joint);
      const t = new Array<number>(jointIds.length).fill(0);
      for (let i = 0; i < n; i++) {
        const k = who[i] as number;
        t[k] = (t[k] as number) + (step[i] as number);
        p.update(jointIds[k] as string, t[k] as number);
      }
      if (!(p.quorumAccepted() > 0)) throw new Error('no lease');
    });
    summary.timestampJointUpdatesPerSec = Math.round(j.opsPerSec.median);
    ctx.result(summary);
  },
};
