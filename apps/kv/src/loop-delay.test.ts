import { afterEach, describe, expect, it } from 'vitest';
import { FakeRaft } from '../test/fake-raft.ts';
import { serve, type TestServer } from '../test/http-server.ts';
import { kvHttpHandler } from './http-api.ts';
import { type LoopDelayMonitor, type LoopDelaySnapshot, startLoopDelayMonitor } from './loop-delay.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('event-loop delay monitor', () => {
  it('measures a blocked loop, and a reset starts a new window', async () => {
    const m = startLoopDelayMonitor(5);
    try {
      await new Promise((r) => setTimeout(r, 30));
      const until = performance.now() + 60;
      while (performance.now() < until) {
        // Block the loop: the next sample comes ~60 ms late.
      }
      await new Promise((r) => setTimeout(r, 30));
      const s = m.snapshot();
      expect(s.count).toBeGreaterThan(0);
      expect(s.maxMs).toBeGreaterThanOrEqual(40);
      expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
      expect(s.windowMs).toBeGreaterThanOrEqual(100);
      m.reset();
      const fresh = m.snapshot();
      expect(fresh.count).toBe(0);
      expect(fresh.maxMs).toBe(0);
      expect(fresh.windowMs).toBeLessThan(50);
    } finally {
      m.stop();
    }
  });
});

describe('HTTP API: event-loop delay', () => {
  const snap: LoopDelaySnapshot = { count: 12, p50Ms: 1.5, p99Ms: 7.25, maxMs: 9, meanMs: 2, windowMs: 1000 };
  const fake = (): LoopDelayMonitor & { resets: number } => ({
    resets: 0,
    snapshot: () => snap,
    reset() {
      this.resets++;
    },
    stop() {},
  });

  it('GET /metrics/event-loop answers the window, POST …/reset starts a new one', async () => {
    const raft = new FakeRaft('1');
    const loopDelay = fake();
    server = await serve(kvHttpHandler({ raft, store: raft.kv, addr: '127.0.0.1:21001', loopDelay }));
    expect((await server.get('/metrics/event-loop')).json).toEqual({
      Ok: { count: 12, p50_ms: 1.5, p99_ms: 7.25, max_ms: 9, mean_ms: 2, window_ms: 1000 },
    });
    expect((await server.post('/metrics/event-loop/reset', '')).json).toEqual({ Ok: null });
    expect(loopDelay.resets).toBe(1);
    expect((await server.get('/metrics/event-loop/reset')).status).toBe(405);
    const p = (await server.get('/metrics/prometheus')).text;
    expect(p).toContain('flotilla_kv_event_loop_delay_seconds{node="1",quantile="0.99"} 0.00725');
    expect(p).toContain('flotilla_kv_event_loop_delay_seconds_count{node="1"} 12');
    expect(p).toContain('flotilla_kv_event_loop_delay_max_seconds{node="1"} 0.009');
  });

  it('without a monitor the routes answer 404 and prometheus leaves the series out', async () => {
    const raft = new FakeRaft('1');
    server = await serve(kvHttpHandler({ raft, store: raft.kv, addr: '127.0.0.1:21001' }));
    const r = await server.get('/metrics/event-loop');
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ Err: { NotFound: {} } });
    expect((await server.get('/metrics/prometheus')).text).not.toContain('event_loop');
  });
});
