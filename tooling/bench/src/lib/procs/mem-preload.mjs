// Preloaded (`node --import`) into a flotilla-kv node by the benchmarks: answers memory questions over
// the IPC channel the benchmark opens, without touching the app. `{ eld: 'mem', id }` collects
// garbage first when node runs with --expose-gc, then answers
// `{ eld: 'mem', id, gc, rss, heapUsed, heapTotal, external, arrayBuffers }` (bytes).
// (The event-loop delay is the node's own metric now: `GET /metrics/event-loop`.)
if (typeof process.send === 'function') {
  process.on('message', (m) => {
    if (m === null || typeof m !== 'object') return;
    if (m.eld === 'mem') {
      if (typeof globalThis.gc === 'function') globalThis.gc();
      process.send({
        eld: 'mem',
        id: m.id,
        gc: typeof globalThis.gc === 'function',
        ...process.memoryUsage(),
      });
    }
  });
  // The channel must not keep the node alive on its own.
  process.channel?.unref();
}
