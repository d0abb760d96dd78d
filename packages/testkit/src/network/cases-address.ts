/**
 * Address cases for transports whose addresses are `host:port` (TCP, gRPC): the factory's
 * `validateAddress` accepts what it can dial and refuses, with a reason, what it never could, so
 * the runtime refuses a bad address where it enters the membership. Must never dial anything.
 */
import type { RaftNetworkFactory } from '@flotilla/types';
import { expect } from 'vitest';
import type { ConformanceCase } from '../case.ts';

/** The cases, for a factory whose addresses are `host:port`. */
export function hostPortAddressCases(network: RaftNetworkFactory): ConformanceCase[] {
  const validate = (addr: string): string | null => {
    if (network.validateAddress === undefined) throw new Error('the factory has no validateAddress');
    return network.validateAddress({ addr });
  };
  return [
    {
      name: 'validateAddress accepts host:port with a host name, IPv4 or bracketed IPv6 and a port in 1–65535',
      run: async () => {
        for (const addr of ['10.0.0.2:7000', 'localhost:1', 'node-b.svc.local:65535', '[::1]:7000'])
          expect(validate(addr), addr).toBeNull();
      },
    },
    {
      name: 'validateAddress refuses, with a reason, what it could never dial',
      run: async () => {
        expect(validate('localhost')).toBe(
          '"localhost" has no port: expected host:port, e.g. "localhost:7000"',
        );
        expect(validate('')).toMatch(/empty/);
        expect(validate('a host:7000')).toMatch(/whitespace/);
        expect(validate('localhost:0')).toMatch(/port 0 is not in 1–65535/);
        expect(validate('localhost:99999')).toMatch(/port 99999 is not in 1–65535/);
        expect(validate('::1:7000')).toMatch(/brackets/);
      },
    },
  ];
}
