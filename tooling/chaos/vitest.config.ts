import { mergeConfig } from 'vitest/config';
import { flotillaVitest } from '../vitest.shared.ts';

// Test files run one at a time: the real run starts node processes, and the 2-core machines this
// runs on must not host two clusters at once.
export default mergeConfig(flotillaVitest(import.meta.dirname, { testTimeout: 120_000 }), {
  test: { fileParallelism: false },
});
