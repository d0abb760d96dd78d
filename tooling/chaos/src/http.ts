/**
 * The harness's HTTP client for flotilla-kv nodes: one keep-alive pool, a timeout per request, and
 * every answer or failure returned as a value (never thrown) so the workload can tell an answer
 * from "never connected" (certainly not applied) and from "connected, then lost" (unknown).
 */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** The result of one request. */
export type HttpResult =
  | { readonly type: 'reply'; readonly status: number; readonly body: unknown }
  /**
   * The request failed. `sent` is false only when the connection was never established
   * (`ECONNREFUSED`): then the node cannot have seen the request.
   */
  | { readonly type: 'error'; readonly sent: boolean; readonly message: string };

/** POSTs `body` as JSON (GET without one) to `http://addr/path`, giving up after `timeoutMs`. */
export function httpCall(addr: string, path: string, body: unknown, timeoutMs: number): Promise<HttpResult> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let done = false;
    const finish = (r: HttpResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = http.request(
      `http://${addr}${path}`,
      {
        method: payload === undefined ? 'GET' : 'POST',
        agent,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // keep the text
          }
          finish({ type: 'reply', status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', (e) => finish({ type: 'error', sent: true, message: e.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ type: 'error', sent: true, message: `timeout after ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => {
      const refused = e.code === 'ECONNREFUSED' || e.code === 'EADDRNOTAVAIL';
      finish({ type: 'error', sent: !refused, message: e.code ?? e.message });
    });
    req.end(payload);
  });
}

/** Whether `v` is a non-null, non-array object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The leader a `ForwardToLeader` reply names: its node id, `null` when the node knows no leader,
 * `undefined` when `body` is no such reply.
 */
export function forwardedTo(body: unknown): number | null | undefined {
  if (!isObject(body) || !isObject(body.Err) || !isObject(body.Err.APIError)) return undefined;
  const fwd = body.Err.APIError.ForwardToLeader;
  if (!isObject(fwd)) return undefined;
  return typeof fwd.leader_id === 'number' ? fwd.leader_id : null;
}

/** The name of the API error in a `{"Err":{"APIError":{<Name>:…}}}` reply, if any. */
export function apiErrorName(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.Err)) return undefined;
  const api = body.Err.APIError;
  if (typeof api === 'string') return api;
  if (isObject(api)) return Object.keys(api)[0];
  return undefined;
}

/**
 * Classifies the answer to a write: `ok`; `fail` when the write certainly did not take effect
 * (never connected, `ForwardToLeader`, `Overloaded`, a 4xx refusal of the input); `unknown`
 * otherwise (timeouts, dropped connections, `OutcomeUnknown`, `Timeout`, a node stopping).
 */
export function classifyWrite(r: HttpResult): 'ok' | 'fail' | 'unknown' {
  if (r.type === 'error') return r.sent ? 'unknown' : 'fail';
  if (isObject(r.body) && 'Ok' in r.body) return 'ok';
  if (r.status >= 400 && r.status < 500) return 'fail';
  const name = apiErrorName(r.body);
  if (name === 'ForwardToLeader' || name === 'Overloaded') return 'fail';
  return 'unknown';
}

/**
 * Classifies the answer to a linearizable read: `ok`; `fail` for a definite refusal; `unknown` when
 * no answer came (a read has no effect, so this only means the history learns nothing from it).
 */
export function classifyRead(r: HttpResult): 'ok' | 'fail' | 'unknown' {
  if (r.type === 'error') return r.sent ? 'unknown' : 'fail';
  if (isObject(r.body) && typeof r.body.Ok === 'string') return 'ok';
  return r.status === 0 ? 'unknown' : 'fail';
}
