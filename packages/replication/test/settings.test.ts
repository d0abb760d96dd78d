import { NetworkError } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { entries, rig } from './harness.ts';

/** The stream's timeout and back-off settings take effect as configured (virtual clock). */
describe('stream settings', () => {
  it('retries errorsBeforeBackoff transient errors at once, then backs off from initialMs', async () => {
    const r = rig({
      leaderLog: entries(5, 0, 5),
      config: { backoff: { initialMs: 30, maxMs: 100, multiplier: 2, errorsBeforeBackoff: 2 } },
    });
    r.net.streamAppend = async function* () {
      yield* [];
      throw new NetworkError('connection reset');
    };
    let inflight = 1;
    r.core.onEvent = (e) => {
      if (e.type !== 'transportError') return;
      inflight += 1;
      r.stream.replicate({ inflightId: inflight, payload: { type: 'logsSince', prev: null } });
    };
    r.stream.replicate({ inflightId: inflight, payload: { type: 'logsSince', prev: null } });
    await r.clock.run(100);
    const errors = r.core.ofType('transportError');
    // Three errors at t=0 (the third starts the back-off), then at 30 and at 90: five by t=100.
    expect(errors.map((e) => e.backoffMs)).toEqual([0, 0, 30, 60, 100]);
    r.stream.close();
  });

  it('a changed appendTimeoutMs bounds a silent append', async () => {
    const r = rig({ leaderLog: entries(5, 0, 3), config: { appendTimeoutMs: 70 } });
    r.net.hang = true;
    r.stream.replicate({ inflightId: 1, payload: { type: 'logs', prev: null, last: { term: 5, index: 2 } } });
    await r.clock.run(69);
    expect(r.core.ofType('transportError')).toHaveLength(0);
    await r.clock.run(1);
    const [err] = r.core.ofType('transportError');
    expect(err?.error).toMatchObject({ code: 'RPC_TIMEOUT' });
    // A timeout is transient: the default 10 errors before back-off retry it at once.
    expect(err?.backoffMs).toBe(0);
    r.stream.close();
  });
});
