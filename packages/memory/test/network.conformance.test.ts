import { networkSuite } from '@flotilla/testkit';
import { MemoryRouter } from '../src/index.ts';

function harness(make: () => MemoryRouter) {
  return {
    setup: async (handler: Parameters<MemoryRouter['register']>[1]) => {
      const router = make();
      router.register('target', handler);
      return {
        client: router.factory('source').newClient('target', { addr: 'target' }),
        stopTarget: async () => router.unregister('target'),
      };
    },
  };
}

networkSuite(
  'MemoryRouter',
  harness(() => new MemoryRouter()),
);

networkSuite(
  'MemoryRouter with random delays',
  harness(() => {
    const r = new MemoryRouter({ seed: 7 });
    r.setDelay(0, 4);
    return r;
  }),
);

networkSuite('MemoryRouter without streamAppend', {
  ...harness(() => new MemoryRouter({ streamAppend: false })),
  requireStreamAppend: false,
});
