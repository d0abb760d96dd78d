// Preloaded (`node --import`) into a flotilla-kv node by the benchmarks: measures the event loop's
// delay with perf_hooks.monitorEventLoopDelay, without touching the app. On SIGUSR2 it writes the
// histogram since the last signal (ms) to $FLOTILLA_BENCH_ELD_FILE, with a sequence number, and resets.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.FLOTILLA_BENCH_ELD_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let seq = 0;
  process.on('SIGUSR2', () => {
    seq += 1;
    const ms = (ns) => ns / 1e6;
    writeFileSync(
      file,
      JSON.stringify({
        seq,
        count: h.count,
        p50: ms(h.percentile(50)),
        p99: ms(h.percentile(99)),
        max: ms(h.max),
        mean: ms(h.mean),
      }),
    );
    h.reset();
  });
}
