/**
 * Owns telling gRPC from other traffic on a shared port: every HTTP/2 connection with prior
 * knowledge (what gRPC speaks without TLS) opens with a fixed 24-byte preface, which no HTTP/1 request
 * starts with. It never reads a socket itself; the app's accept loop does (see `GrpcServer.serveConnection`).
 */

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
export const HTTP2_PREFACE: Uint8Array = new Uint8Array(
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
);

/**
 * What the first bytes of a connection say: `'http2'` (hand it to `GrpcServer.serveConnection`),
 * `'other'` (HTTP/1 or anything else), or `'more'` (too few bytes to tell: read more first).
 */
export function sniffHttp2(first: Uint8Array): 'http2' | 'other' | 'more' {
  const n = Math.min(first.byteLength, HTTP2_PREFACE.byteLength);
  for (let i = 0; i < n; i++) if (first[i] !== HTTP2_PREFACE[i]) return 'other';
  return n === HTTP2_PREFACE.byteLength ? 'http2' : 'more';
}
