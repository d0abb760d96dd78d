import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../src/index.ts';
import { appendReq, LEADER, pair } from './helpers.ts';

/**
 * A TCP proxy that forwards client → server at `bytesPerSecond` per connection and counts bytes; a
 * connection that has forwarded `stallAt` bytes stops being forwarded until `release()`.
 */
async function throttlingProxy(
  upstreamPort: number,
  bytesPerSecond: number,
  stallAt: number,
): Promise<{ port: number; forwarded: number[]; release: () => void; close: () => void }> {
  const forwarded: number[] = [];
  const stalled: (() => void)[] = [];
  let released = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const i = forwarded.push(0) - 1;
    const up = net.connect({ host: '127.0.0.1', port: upstreamPort });
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        down.destroy();
        up.destroy();
      });
    }
    up.pipe(down);
    down.on('data', (chunk: Buffer) => {
      down.pause();
      up.write(chunk);
      forwarded[i]! += chunk.byteLength;
      const resume = () => down.resume();
      if (!released && forwarded[i]! >= stallAt) stalled.push(resume);
      else setTimeout(resume, (chunk.byteLength / bytesPerSecond) * 1000);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    forwarded,
    release: () => {
      released = true;
      for (const r of stalled.splice(0)) r();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('heartbeats never queue behind appends', () => {
  it('answers a heartbeat while a 16 MiB append is in flight', async () => {
    const p = await pair();
    closers.push(p.close);
    const mib = 1024 * 1024;
    // The connection carrying the append stalls after 2 MiB: a heartbeat sharing it could not pass.
    const proxy = await throttlingProxy(p.port, 8 * mib, 2 * mib);
    closers.push(proxy.close);
    const client = p.network.newClient('b', { addr: `127.0.0.1:${proxy.port}` });

    // 16 entries of almost 1 MiB: just under the 16 MiB message cap once encoded.
    const big = appendReq(-1, 16, 1024 * 1024 - 1024);
    const bigDone = client.appendEntries(big, { timeoutMs: 30_000 });
    while (Math.max(0, ...proxy.forwarded) < 2 * mib) await new Promise((r) => setTimeout(r, 10));

    const heartbeat = { vote: LEADER, prevLogId: null, entries: [], leaderCommit: null };
    const t0 = Date.now();
    await expect(client.appendEntries(heartbeat, { timeoutMs: 1_000 })).resolves.toEqual({ type: 'success' });
    const latency = Date.now() - t0;

    // The append is still on the wire: the handler has seen the heartbeat only.
    expect(p.handler.appended.map((r) => r.entries.length)).toEqual([0]);
    expect(Math.max(...proxy.forwarded)).toBeLessThan(DEFAULT_MAX_MESSAGE_BYTES);
    expect(latency).toBeLessThan(1_000);
    // Separate connections: exactly one carried the megabytes.
    expect(proxy.forwarded.filter((n) => n > mib)).toHaveLength(1);

    proxy.release();
    await expect(bigDone).resolves.toEqual({ type: 'success' });
    expect(p.handler.appended.map((r) => r.entries.length)).toEqual([0, 16]);
  });
});
