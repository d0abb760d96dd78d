import { mergeConfig } from 'vitest/config';
import { flotillaVitest } from '../../tooling/vitest.shared.ts';

// Test files run one at a time: the tests in test/ start real node processes, and several clusters
// at once would overload the shared 2-core machines (and turn timing margins into flakes).
export default mergeConfig(flotillaVitest(import.meta.dirname, { testTimeout: 90_000 }), {
  test: { fileParallelism: false },
});
