// Scaffolds the boilerplate of a workspace package (package.json is written by hand).
// Usage: node tooling/scripts/new-package.mjs packages/<folder>
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: new-package.mjs <dir>');
const root = relative(dir, '.') || '.';
mkdirSync(join(dir, 'src'), { recursive: true });
const write = (name, text) => {
  const p = join(dir, name);
  if (!existsSync(p)) writeFileSync(p, text);
};
write(
  'tsconfig.json',
  `${JSON.stringify(
    {
      extends: `${root}/tooling/tsconfig/base.json`,
      compilerOptions: { noEmit: true, rootDir: '.' },
      include: ['src', 'test', '*.ts'],
    },
    null,
    2,
  )}\n`,
);
write(
  'tsconfig.build.json',
  `${JSON.stringify(
    {
      extends: './tsconfig.json',
      compilerOptions: { noEmit: false, rootDir: 'src', outDir: 'dist', customConditions: [] },
      include: ['src'],
      exclude: ['src/**/*.test.ts', 'src/**/test-*.ts'],
    },
    null,
    2,
  )}\n`,
);
write(
  'vitest.config.ts',
  `import { flotillaVitest } from '${root}/tooling/vitest.shared.ts';\n\nexport default flotillaVitest(import.meta.dirname);\n`,
);
