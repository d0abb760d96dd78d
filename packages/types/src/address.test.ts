import { describe, expect, it } from 'vitest';
import { parseHostPort } from './address.ts';

function reason(addr: string): string {
  const r = parseHostPort(addr);
  if (r.ok) throw new Error(`${addr} was accepted`);
  return r.reason;
}

describe('parseHostPort', () => {
  it('accepts host names, IPv4 and bracketed IPv6 with a port in 1–65535', () => {
    const cases: [string, string, number][] = [
      ['127.0.0.1:7000', '127.0.0.1', 7000],
      ['node-a.local:1', 'node-a.local', 1],
      ['localhost:65535', 'localhost', 65535],
      ['kv_node_1:7000', 'kv_node_1', 7000],
      ['example.com.:443', 'example.com.', 443],
      ['[::1]:65535', '::1', 65535],
      ['[::]:7000', '::', 7000],
      ['[2001:db8::8a2e:370:7334]:80', '2001:db8::8a2e:370:7334', 80],
      ['[1:2:3:4:5:6:7:8]:80', '1:2:3:4:5:6:7:8', 80],
      ['[::ffff:10.0.0.1]:80', '::ffff:10.0.0.1', 80],
      ['[fe80::1%eth0]:7000', 'fe80::1%eth0', 7000],
    ];
    for (const [addr, host, port] of cases) {
      expect(parseHostPort(addr), addr).toEqual({ ok: true, value: { host, port } });
    }
  });

  it('refuses with a reason that names the address and the fault', () => {
    expect(reason('')).toMatch(/empty/);
    expect(reason('localhost')).toBe('"localhost" has no port: expected host:port, e.g. "localhost:7000"');
    expect(reason('not-an-address')).toMatch(/"not-an-address" has no port/);
    expect(reason('a b:7000')).toMatch(/whitespace/);
    expect(reason(' a:7000')).toMatch(/whitespace/);
    expect(reason('a:7000\n')).toMatch(/whitespace/);
    expect(reason('localhost:0')).toBe('"localhost:0": the port 0 is not in 1–65535');
    expect(reason('localhost:99999')).toMatch(/the port 99999 is not in 1–65535/);
    expect(reason('localhost:65536')).toMatch(/not in 1–65535/);
    expect(reason('localhost:')).toMatch(/the port "" is not a number/);
    expect(reason('localhost:http')).toMatch(/the port "http" is not a number/);
    expect(reason('localhost:123456')).toMatch(/not a number/);
    expect(reason(':7000')).toMatch(/no host/);
    expect(reason('::1:7000')).toMatch(/IPv6 address must be in brackets/);
    expect(reason('[::1]')).toMatch(/has no port/);
    expect(reason('[::1]7000')).toMatch(/expected ":port"/);
    expect(reason('[::1:7000')).toMatch(/never closes/);
    expect(reason('[::g]:7000')).toMatch(/not an IPv6 address/);
    expect(reason('[1::2::3]:7000')).toMatch(/not an IPv6 address/);
    expect(reason('[1:2:3:4:5:6:7:8:9]:7000')).toMatch(/not an IPv6 address/);
    expect(reason('[127.0.0.1]:7000')).toMatch(/not an IPv6 address/);
    expect(reason('256.0.0.1:7000')).toMatch(/not an IPv4 address/);
    expect(reason('1.2.3:7000')).toMatch(/not an IPv4 address/);
    expect(reason('01.2.3.4:7000')).toMatch(/not an IPv4 address/);
    expect(reason('-a.example:7000')).toMatch(/not a host name/);
    expect(reason('a..b:7000')).toMatch(/not a host name/);
    expect(reason('host/path:7000')).toMatch(/not a host name/);
    expect(reason(`${'a'.repeat(64)}:7000`)).toMatch(/not a host name/);
    expect(reason(`${'a.'.repeat(127)}aa:7000`)).toMatch(/longer than 253/);
    expect(reason(7000 as unknown as string)).toMatch(/expected a string address, got number/);
  });
});
