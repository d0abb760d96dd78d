import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { type FileLogStore, fileLogStore } from '@flotilla/storage-file';
import type { Entry } from '@flotilla/types';
import { Packr } from 'msgpackr';
import type { Bench, BenchContext } from '../harness.ts';
import { REPO_ROOT } from '../runner.ts';

function argValue(ctx: BenchContext, flag: string): string | undefined {
  const prefix = `--${flag}=`;
  return ctx.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const payloads = new Map<number, Uint8Array>();
/** Entries sharing one payload buffer per size (both sides of a comparison pay the same). */
function makeEntries(from: number, n: number, bytes: number): Entry[] {
  let data = payloads.get(bytes);
  if (data === undefined) {
    data = new Uint8Array(bytes).fill(7);
    payloads.set(bytes, data);
  }
  const out: Entry[] = [];
  for (let i = 0; i < n; i++)
    out.push({ logId: { term: 1, index: from + i }, payload: { type: 'normal', data } });
  return out;
}

// The raw baseline encodes exactly like the store (msgpack tuple + u32 length + CRC32 framing).
const packr = new Packr({ useRecords: false });
function encodeBatch(es: readonly Entry[]): Uint8Array {
  const bodies = es.map((e) =>
    packr.pack([e.logId.term, e.logId.index, 1, e.payload.type === 'normal' ? e.payload.data : null]),
  );
  let n = 0;
  for (const b of bodies) n += 8 + b.byteLength;
  const out = new Uint8Array(n);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const b of bodies) {
    v.setUint32(at, b.byteLength, true);
    v.setUint32(at + 4, crc32(b), true);
    out.set(b, at + 8);
    at += 8 + b.byteLength;
  }
  return out;
}

/**
 * Keeps `inflight` single-entry appends outstanding (each flush issues the next) until `total`
 * entries are durable, or appends `batch`-entry calls one after another when `inflight` is 1.
 */
async function pump(store: FileLogStore, total: number, bytes: number, inflight: number, batch: number) {
  const start = ((await store.getLogState()).lastLogId?.index ?? -1) + 1;
  let issued = 0;
  let flushed = 0;
  await new Promise<void>((resolve, reject) => {
    const issue = (): void => {
      if (issued >= total) return;
      const n = Math.min(batch, total - issued);
      const es = makeEntries(start + issued, n, bytes);
      issued += n;
      store
        .append(es, (err) => {
          if (err) return reject(err);
          flushed += n;
          if (flushed === total) resolve();
          else issue();
        })
        .catch(reject);
    };
    for (let i = 0; i < inflight; i++) issue();
  });
}

/**
 * `@flotilla/storage-file`: group-commit append throughput against a raw write + fdatasync loop of
 * the same batches (same `fs.promises` FileHandle API, same encoding), open time of a large log,
 * index bytes per entry, cached and uncached read throughput.
 */
export const bench: Bench = {
  name: 'storage-file',
  description: 'file log store: group-commit appends vs raw write+fdatasync, open time, index size, reads',
  async run(ctx) {
    const base = resolve(argValue(ctx, 'dir') ?? join(REPO_ROOT, 'bench-results'));
    await mkdir(base, { recursive: true });
    const dir = await mkdtemp(join(base, '.scratch-storage-file-'));
    const syncs = ctx.pick(150, 15);
    const openEntries = ctx.pick(1_000_000, 50_000);
    ctx.params({ dir, syncsPerRep: syncs, openEntries, api: 'FileHandle.write + FileHandle.datasync' });
    let seq = 0;
    try {
      for (const bytes of [100, 4096]) {
        // Raw limit: one write + one fdatasync per batch, encoding included.
        for (const batch of [1, 64, 256]) {
          const fh = await open(join(dir, `raw-${bytes}-${batch}.bin`), 'a');
          let pos = 0;
          try {
            await ctx.measure(
              `raw ${bytes}B batch=${batch}`,
              { opsPerRep: syncs * batch, reps: 3, warmup: 1 },
              async () => {
                for (let i = 0; i < syncs; i++) {
                  const buf = encodeBatch(makeEntries(pos, batch, bytes));
                  await fh.write(buf, 0, buf.byteLength, null);
                  await fh.datasync();
                  pos += batch;
                }
              },
            );
          } finally {
            await fh.close();
          }
        }
        // The store: 1, 64 and 256 concurrent single-entry appenders, and 64-entry appends.
        for (const [inflight, batch] of [
          [1, 1],
          [64, 1],
          [256, 1],
          [1, 64],
        ] as const) {
          const store = await fileLogStore(join(dir, `store-${seq++}`));
          try {
            const label = `store ${bytes}B ${batch === 1 ? `appenders=${inflight}` : `batch=${batch}`}`;
            await ctx.measure(
              label,
              { opsPerRep: syncs * Math.max(inflight, batch), reps: 3, warmup: 1 },
              () => pump(store, syncs * Math.max(inflight, batch), bytes, inflight, batch),
            );
            const st = store.stats();
            ctx.result({ [`${label} entries per fdatasync`]: st.entries / Math.max(1, st.logSyncs) });
          } finally {
            await store.close();
          }
        }
        ctx.ratio(
          `${bytes}B single entries: store / raw`,
          `store ${bytes}B appenders=1`,
          `raw ${bytes}B batch=1`,
        );
        ctx.ratio(`${bytes}B batch 64: store / raw`, `store ${bytes}B batch=64`, `raw ${bytes}B batch=64`);
        ctx.ratio(
          `${bytes}B 64 appenders: store / raw batch 64`,
          `store ${bytes}B appenders=64`,
          `raw ${bytes}B batch=64`,
        );
        ctx.ratio(
          `${bytes}B 256 appenders: store / raw batch 256`,
          `store ${bytes}B appenders=256`,
          `raw ${bytes}B batch=256`,
        );
        ctx.ratio(
          `${bytes}B 256 appenders vs one fsync per entry`,
          `store ${bytes}B appenders=256`,
          `raw ${bytes}B batch=1`,
        );
      }

      // A large log: open (recovery) time, index memory, reads.
      const bigDir = join(dir, 'big');
      {
        const store = await fileLogStore(bigDir);
        const chunk = 10_000;
        for (let i = 0; i < openEntries; i += chunk) {
          await new Promise<void>((resolve, reject) => {
            store.append(makeEntries(i, chunk, 100), (err) => (err ? reject(err) : resolve())).catch(reject);
          });
        }
        await store.close();
      }
      let indexBytes = 0;
      let segments = 0;
      await ctx.measure(`open ${openEntries} entries`, { opsPerRep: 1, reps: 3, warmup: 1 }, async () => {
        const s = await fileLogStore(bigDir);
        indexBytes = s.stats().indexBytes;
        segments = s.stats().segments;
        await s.close();
      });
      ctx.result({
        indexBytesPerEntry: indexBytes / openEntries,
        segmentsInBigLog: segments,
      });
      const store = await fileLogStore(bigDir, { cacheEntries: 0 });
      try {
        const reader = store.reader();
        const span = 1000;
        let k = 0;
        await ctx.measure(
          'uncached reads (1000-entry ranges, 100B)',
          { opsPerRep: span * 50, reps: 3 },
          async () => {
            for (let i = 0; i < 50; i++) {
              const from = (k++ * 7919 * span) % (openEntries - span);
              const got = await reader.tryGetLogEntries(from, from + span);
              if (got.length !== span) throw new Error('short read');
            }
          },
        );
      } finally {
        await store.close();
      }
      const cached = await fileLogStore(join(dir, `store-${seq++}`), { cacheEntries: 10_000 });
      try {
        await pump(cached, 10_000, 100, 1, 1000);
        const reader = cached.reader();
        await ctx.measure(
          'cached reads (1000-entry ranges, 100B)',
          { opsPerRep: 1000 * 200, reps: 3 },
          async () => {
            for (let i = 0; i < 200; i++) {
              const from = (i * 997) % 9000;
              const got = await reader.tryGetLogEntries(from, from + 1000);
              if (got.length !== 1000) throw new Error('short read');
            }
          },
        );
      } finally {
        await cached.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
