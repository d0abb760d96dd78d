/**
 * Owns the syntax of a `host:port` node address, the form the TCP and gRPC transports read from
 * `Node.addr`: one parser, so both transports accept and refuse the same addresses with the same
 * reasons. Pure string checks: it must never resolve a name, open a socket or import a Node module.
 */

/** A parsed `host:port` address. */
export interface HostPort {
  /** A hostname, a dotted IPv4 address, or an IPv6 address without its brackets (zone kept). */
  host: string;
  /** The port, 1–65535. */
  port: number;
}

/** What {@link parseHostPort} found: the address, or why it is not one. */
export type HostPortResult = { ok: true; value: HostPort } | { ok: false; reason: string };

const PORT = /^\d{1,5}$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const ZONE = /^[A-Za-z0-9_.~-]+$/;
const IPV4_PART = /^(?:0|[1-9]\d{0,2})$/;

/**
 * Parses `host:port`, where host is a hostname (RFC 1123 labels; `_` allowed, as container names
 * use it), a dotted IPv4 address, or a bracketed IPv6 address (`[::1]:7000`, `[fe80::1%eth0]:7000`).
 * The port is required and in 1–65535. Refused with a reason naming the address: an empty
 * address, whitespace, a missing port (`localhost`), a port out of range (`0`, `99999`), an
 * unbracketed IPv6 address, a malformed IPv4 address or hostname.
 *
 * @example
 * ```ts
 * parseHostPort('10.0.0.2:7000'); // { ok: true, value: { host: '10.0.0.2', port: 7000 } }
 * parseHostPort('localhost');     // { ok: false, reason: '"localhost" has no port: expected host:port, e.g. "localhost:7000"' }
 * ```
 */
export function parseHostPort(addr: string): HostPortResult {
  if (typeof addr !== 'string') return refuse(`expected a string address, got ${typeof addr}`);
  const shown = JSON.stringify(addr);
  if (addr === '') return refuse('the address is empty: expected host:port, e.g. "10.0.0.2:7000"');
  if (/\s/.test(addr)) return refuse(`${shown} contains whitespace`);
  let host: string;
  let rest: string;
  if (addr.startsWith('[')) {
    const close = addr.indexOf(']');
    if (close === -1) return refuse(`${shown} opens a bracket it never closes`);
    host = addr.slice(1, close);
    if (!isIPv6(host)) return refuse(`${shown}: ${JSON.stringify(host)} is not an IPv6 address`);
    rest = addr.slice(close + 1);
    if (rest === '') return refuse(`${shown} has no port: expected [v6]:port, e.g. "${addr}:7000"`);
    if (!rest.startsWith(':')) return refuse(`${shown}: expected ":port" after "]"`);
    rest = rest.slice(1);
  } else {
    const colon = addr.lastIndexOf(':');
    if (colon === -1) return refuse(`${shown} has no port: expected host:port, e.g. "${addr}:7000"`);
    host = addr.slice(0, colon);
    rest = addr.slice(colon + 1);
    if (host.includes(':')) return refuse(`${shown}: an IPv6 address must be in brackets, e.g. "[::1]:7000"`);
    if (host === '') return refuse(`${shown} has no host: expected host:port`);
    const hostProblem = hostnameOrIPv4Problem(host);
    if (hostProblem !== null) return refuse(`${shown}: ${hostProblem}`);
  }
  if (!PORT.test(rest)) return refuse(`${shown}: the port ${JSON.stringify(rest)} is not a number`);
  const port = Number(rest);
  if (port < 1 || port > 65535) return refuse(`${shown}: the port ${port} is not in 1–65535`);
  return { ok: true, value: { host, port } };
}

function refuse(reason: string): HostPortResult {
  return { ok: false, reason };
}

/** Why `host` is neither a valid hostname nor a dotted IPv4 address, or `null`. */
function hostnameOrIPv4Problem(host: string): string | null {
  if (/^[\d.]+$/.test(host)) {
    return isIPv4(host) ? null : `${JSON.stringify(host)} is not an IPv4 address`;
  }
  if (host.length > 253) return `the host name is longer than 253 characters`;
  const labels = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  for (const label of labels) {
    if (!LABEL.test(label))
      return `${JSON.stringify(host)} is not a host name (labels of letters, digits, "-" and "_", 1–63 long, not starting or ending with "-")`;
  }
  return null;
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => IPV4_PART.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  let body = s;
  const pct = body.indexOf('%');
  if (pct !== -1) {
    if (!ZONE.test(body.slice(pct + 1))) return false;
    body = body.slice(0, pct);
  }
  // An embedded IPv4 tail (`::ffff:10.0.0.1`) counts as two groups.
  const lastColon = body.lastIndexOf(':');
  if (lastColon === -1) return false;
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return false;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const gap = body.indexOf('::');
  if (gap !== body.lastIndexOf('::')) return false;
  if (gap === -1) {
    const groups = body.split(':');
    return groups.length === 8 && groups.every((g) => HEX_GROUP.test(g));
  }
  const left = body.slice(0, gap);
  const right = body.slice(gap + 2);
  const groups = [...(left === '' ? [] : left.split(':')), ...(right === '' ? [] : right.split(':'))];
  return groups.length <= 7 && groups.every((g) => HEX_GROUP.test(g));
}
