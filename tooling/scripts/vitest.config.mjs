import { defineConfig } from 'vitest/config';

// The tests of the repository's scripts (not a workspace package): run by check-all's "architecture"
// stage, `pnpm exec vitest run --config tooling/scripts/vitest.config.mjs` from the root.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.test.mjs'],
    testTimeout: 60_000,
  },
});
