/**
 * Node addresses of flotilla-kv: `host:port` or `[v6]:port`, checked where they enter (the CLI, the
 * HTTP admin routes). Owns the address syntax only; must never resolve or dial.
 *
 * @module
 */
import { InvalidConfigError } from '@flotilla/types';

/** Splits `host:port` (or `[v6]:port`); throws `InvalidConfigError` on anything else. */
export function parseHostPort(addr: string, field = 'addr'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(addr);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (m === null || host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new InvalidConfigError(field, `expected host:port, got "${addr}"`);
  }
  return { host, port };
}
