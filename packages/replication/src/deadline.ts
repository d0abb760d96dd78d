import { type Clock, RpcTimeoutError, sleep } from '@flotilla/types';

/** The reason the deadline's own timer is cancelled with: built once (no `DOMException` per call). */
const SETTLED = new Error('deadline settled');

/**
 * Runs `call` with a deadline on the injected clock: passes it a signal that aborts on `signal`'s
 * abort or after `timeoutMs`, and settles as soon as either happens, without waiting for a call
 * that ignores its signal. Expiry rejects with `RpcTimeoutError` (code `RPC_TIMEOUT`).
 */
export function withDeadline<T>(
  call: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  clock: Clock,
  signal: AbortSignal,
  what: string,
): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const local = new AbortController();
  const timer = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const finish = () => {
      signal.removeEventListener('abort', onAbort);
      timer.abort(SETTLED);
    };
    const onAbort = () => {
      finish();
      local.abort(signal.reason);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    sleep(clock, timeoutMs, timer.signal).then(
      () => {
        const err = new RpcTimeoutError(`${what} timed out after ${timeoutMs} ms`);
        signal.removeEventListener('abort', onAbort);
        local.abort(err);
        reject(err);
      },
      () => {},
    );
    let p: Promise<T>;
    try {
      p = call(local.signal);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (v) => {
        finish();
        resolve(v);
      },
      (e: unknown) => {
        finish();
        reject(e);
      },
    );
  });
}
