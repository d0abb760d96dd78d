/**
 * Owns the bounds of one client call: its timeout and its `AbortSignal`. A call ends with its own
 * result, `RpcTimeoutError` once the timeout passes, or the signal's reason once it aborts, whichever
 * comes first; cleanups registered by the call (cancel the gRPC call) run once it has settled.
 */
import { NetworkError, type RpcOptions, RpcTimeoutError } from '@flotilla/types';

/** What an aborted call rejects with: the signal's reason, or a `NetworkError`. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new NetworkError('aborted');
}

/** Runs `body` under the call's timeout and abort signal; cleanups run once the call settles. */
export function withDeadline<T>(
  opts: RpcOptions | undefined,
  what: string,
  body: (onSettle: (f: () => void) => void) => Promise<T>,
): Promise<T> {
  const signal = opts?.signal;
  if (signal?.aborted === true) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const cleanups: (() => void)[] = [];
    const settle = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const c of cleanups) c();
      f();
    };
    const onAbort = () => settle(() => reject(abortReason(signal!)));
    const ms = opts?.timeoutMs;
    const timer =
      ms === undefined
        ? undefined
        : setTimeout(
            () => settle(() => reject(new RpcTimeoutError(`${what} got no answer within ${ms} ms`))),
            ms,
          );
    signal?.addEventListener('abort', onAbort, { once: true });
    body((f) => (done ? f() : cleanups.push(f))).then(
      (v) => settle(() => resolve(v)),
      (e: unknown) => settle(() => reject(e)),
    );
  });
}
