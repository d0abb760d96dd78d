import { parseHostPort, type RaftNetworkFactory } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { failedCases, runCases } from '../case.ts';
import { hostPortAddressCases } from './cases-address.ts';

const factory = (validateAddress?: RaftNetworkFactory['validateAddress']): RaftNetworkFactory => ({
  newClient: () => {
    throw new Error('not dialled');
  },
  ...(validateAddress === undefined ? {} : { validateAddress }),
});

describe('host:port address cases', () => {
  it('pass for a factory that checks with parseHostPort', async () => {
    const ok = factory((n) => {
      const r = parseHostPort(n.addr);
      return r.ok ? null : r.reason;
    });
    expect(failedCases(await runCases(hostPortAddressCases(ok)))).toEqual([]);
  });

  it('catch a factory that accepts everything, and one without validateAddress', async () => {
    expect(failedCases(await runCases(hostPortAddressCases(factory(() => null))))).toHaveLength(1);
    expect(failedCases(await runCases(hostPortAddressCases(factory())))).toHaveLength(2);
  });
});
