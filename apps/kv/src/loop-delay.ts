/**
 * The event-loop delay of a flotilla-kv node (`perf_hooks.monitorEventLoopDelay`): how late the
 * loop ran what was due, so a node whose Raft work or HTTP load starves its timers (heartbeats,
 * elections) shows it. Measured over a window that starts when the node starts and again at each
 * `reset` (`POST /metrics/event-loop/reset`), served by `GET /metrics/event-loop` and
 * `/metrics/prometheus`. Must never hold HTTP or Raft logic.
 *
 * @module
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** The event-loop delay over a window, in milliseconds. */
export interface LoopDelaySnapshot {
  /** Delay samples taken in the window. */
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** How long the window has been running, in ms. */
  windowMs: number;
}

/** What the HTTP layer reads of the event-loop delay monitor. */
export interface LoopDelayMonitor {
  /** The delay over the current window. */
  snapshot(): LoopDelaySnapshot;
  /** Starts a new window. */
  reset(): void;
  /** Stops measuring. */
  stop(): void;
}

const ms = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1e3) / 1e3 : 0);

/** Starts measuring this process's event-loop delay, sampling every `resolutionMs` (default 10). */
export function startLoopDelayMonitor(resolutionMs = 10): LoopDelayMonitor {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  let since = performance.now();
  return {
    snapshot() {
      const count = h.count;
      return {
        count,
        p50Ms: count === 0 ? 0 : ms(h.percentile(50)),
        p99Ms: count === 0 ? 0 : ms(h.percentile(99)),
        maxMs: count === 0 ? 0 : ms(h.max),
        meanMs: count === 0 ? 0 : ms(h.mean),
        windowMs: Math.round(performance.now() - since),
      };
    },
    reset() {
      h.reset();
      since = performance.now();
    },
    stop() {
      h.disable();
    },
  };
}
