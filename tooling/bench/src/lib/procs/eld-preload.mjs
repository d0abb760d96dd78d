// Preloaded (`node --import`) into a flotilla-kv node by the benchmarks: measures the event loop's
// delay with perf_hooks.monitorEventLoopDelay, without touching the app. Driven over the IPC channel
// the benchmark opens: `{ eld: 'reset' }` starts a window, `{ eld: 'dump', id }` answers
// `{ eld: 'dump', id, count, p50, p99, max, mean }` (ms) for the window so far. Messages are handled
// in order on the event loop, so a window spans exactly what happened between the two.
// `{ eld: 'mem', id }` collects garbage first when node runs with --expose-gc, then answers
// `{ eld: 'mem', id, rss, heapUsed, heapTotal, external, arrayBuffers }` (bytes).
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (typeof process.send === 'function') {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const ms = (ns) => ns / 1e6;
  process.on('message', (m) => {
    if (m === null || typeof m !== 'object') return;
    if (m.eld === 'reset') h.reset();
    else if (m.eld === 'mem') {
      if (typeof globalThis.gc === 'function') globalThis.gc();
      process.send({
        eld: 'mem',
        id: m.id,
        gc: typeof globalThis.gc === 'function',
        ...process.memoryUsage(),
      });
    } else if (m.eld === 'dump') {
      process.send({
        eld: 'dump',
        id: m.id,
        count: h.count,
        p50: ms(h.percentile(50)),
        p99: ms(h.percentile(99)),
        max: ms(h.max),
        mean: ms(h.mean),
      });
    }
  });
  // The channel must not keep the node alive on its own.
  process.channel?.unref();
}
