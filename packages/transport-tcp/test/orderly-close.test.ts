// An orderly shutdown is not an error: a server closing its open connections (unary and stream)
// logs nothing at warn, while a peer that breaks the protocol still does.
import type { Logger } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { appendReq, pair, rawConnect } from './helpers.ts';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const none = () => {};
  return {
    warnings,
    debug: none,
    info: none,
    error: (m: string) => warnings.push(m),
    warn: (m: string) => warnings.push(m),
  };
}

describe('orderly close', () => {
  it('closing the server with open connections logs no warning (an open unary connection)', async () => {
    const logger = recordingLogger();
    const p = await pair({ logger });
    const client = p.network.newClient('b', { addr: p.addr });
    await client.appendEntries(appendReq(4, 1)); // a unary connection
    expect(p.server.connections).toBe(1);
    await p.server.close();
    await p.network.close();
    expect(logger.warnings).toEqual([]);
  });

  it('a peer breaking the protocol is still a warning', async () => {
    const logger = recordingLogger();
    const p = await pair({ logger });
    const s = await rawConnect(p.port);
    s.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    await new Promise((ok) => s.once('close', ok));
    expect(logger.warnings.length).toBeGreaterThan(0);
    await p.close();
  });
});
