import { defineConfig } from 'vitest/config';

/**
 * The vitest configuration every workspace package shares: sources resolved through the
 * `@flotilla/source` export condition (no build needed) and V8 line coverage.
 */
export function flotillaVitest(dir: string, extra: { testTimeout?: number; include?: string[] } = {}) {
  const conditions = ['@flotilla/source', 'module', 'node', 'import', 'default'];
  return defineConfig({
    root: dir,
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@flotilla/source'] } },
    test: {
      include: extra.include ?? ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: extra.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      coverage: {
        provider: 'v8',
        include: ['src/**/*.ts'],
        exclude: ['src/**/*.test.ts', 'src/**/test-*.ts'],
        reporter: ['text-summary', 'json-summary'],
        reportsDirectory: 'coverage',
      },
    },
  });
}
