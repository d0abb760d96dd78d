import { readFileSync } from 'node:fs';
import { type FileHandle, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Bench, BenchContext } from '../harness.ts';
import { REPO_ROOT } from '../runner.ts';

const ENTRY_BYTES = 100;
const BATCHES = [1, 64, 1024] as const;

/**
 * The file system type `path` lives on, from the longest matching mount point in `/proc/mounts`
 * (`unknown` where that file is unreadable). Mount points with spaces are octal-escaped there.
 */
function fsTypeOf(path: string): string {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/mounts', 'utf8');
  } catch {
    return 'unknown';
  }
  let best = '';
  let type = 'unknown';
  for (const line of mounts.split('\n')) {
    const [, rawMount, fsType] = line.split(' ');
    if (rawMount === undefined || fsType === undefined) continue;
    const mount = rawMount.replace(/\\(\d{3})/g, (_, oct: string) =>
      String.fromCharCode(Number.parseInt(oct, 8)),
    );
    const inside = path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
    if (inside && mount.length >= best.length) {
      best = mount;
      type = fsType;
    }
  }
  return type;
}

function argValue(ctx: BenchContext, flag: string): string | undefined {
  const prefix = `--${flag}=`;
  return ctx.args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/**
 * Appends batches of 100-byte entries to a file with `FileHandle.writev` and makes each batch durable
 * with `FileHandle.datasync()` — the same async `fs.promises` calls a file log store makes — for batch
 * sizes 1, 64 and 1024. Records entries/s per batch size and the latency of each write + fdatasync.
 *
 * Pass `--dir=<path>` to measure another disk; the default is a scratch directory under the
 * repository's `bench-results/` (deliberately not `os.tmpdir()`, often a tmpfs where fsync is free).
 */
export const bench: Bench = {
  name: 'calibrate-fsync',
  description: 'append + fdatasync with fs.promises FileHandle: batches of 1/64/1024 × 100 B',
  async run(ctx) {
    const base = resolve(argValue(ctx, 'dir') ?? join(REPO_ROOT, 'bench-results'));
    await mkdir(base, { recursive: true });
    const dir = await mkdtemp(join(base, '.scratch-fsync-'));
    const syncsPerRep = ctx.pick(500, 20);
    ctx.params({
      dir,
      fsType: fsTypeOf(dir),
      entryBytes: ENTRY_BYTES,
      batches: BATCHES.join('/'),
      syncsPerRep,
      api: 'FileHandle.writev + FileHandle.datasync, flags "a"',
    });
    try {
      for (const batch of BATCHES) {
        const handle: FileHandle = await open(join(dir, `log-${batch}.bin`), 'a');
        try {
          // Distinct buffers per entry, like a store writing one encoded record per entry.
          const buffers = Array.from({ length: batch }, (_, i) => Buffer.alloc(ENTRY_BYTES, i & 0xff));
          const perCall: number[][] = [];
          const m = await ctx.measure(
            `append+fdatasync batch=${batch}`,
            { opsPerRep: syncsPerRep * batch, reps: 3, warmup: 1 },
            async () => {
              const samples: number[] = [];
              for (let i = 0; i < syncsPerRep; i++) {
                const t0 = process.hrtime.bigint();
                await handle.writev(buffers);
                await handle.datasync();
                samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
              }
              perCall.push(samples);
            },
          );
          ctx.latency(`write+fdatasync batch=${batch}`, perCall.slice(m.warmup).flat(), 'µs');
          ctx.result({
            [`syncsPerSec batch=${batch}`]: m.opsPerSec.median / batch,
            [`MBps batch=${batch}`]: (m.opsPerSec.median * ENTRY_BYTES) / 1e6,
          });
        } finally {
          await handle.close();
        }
      }
      ctx.ratio('batch64 vs batch1 entries/s', 'append+fdatasync batch=64', 'append+fdatasync batch=1');
      ctx.ratio('batch1024 vs batch1 entries/s', 'append+fdatasync batch=1024', 'append+fdatasync batch=1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
