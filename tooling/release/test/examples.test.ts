// The markdown example checker: markers, compile errors mapped to markdown lines, complete examples
// that must exit; and the repository's own markdown against its known-failures list.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readList } from '../src/api.ts';
import { blocksOf, checkExamples, extractBlocks, markdownFiles } from '../src/examples.ts';
import { exec } from '../src/exec.ts';

const ROOT = join(import.meta.dirname, '../../..');
const opts = {
  workDir: join(import.meta.dirname, '../.fixtures/examples'),
  tsconfigBase: join(ROOT, 'tooling/tsconfig/base.json'),
  runTimeoutMs: 10_000,
};

const md = [
  '# Guide', // 1
  '', // 2
  '<!-- example: run -->', // 3
  '```ts', // 4
  "import { compareLogId } from '@flotilla/types';", // 5
  "if (compareLogId({ term: 1, index: 2 }, { term: 2, index: 0 }) !== -1) throw new Error('order');", // 6
  '```', // 7
  '', // 8
  '<!-- example: compile', // 9
  "declare const raft: import('@flotilla/raft').Raft<string, string>;", // 10
  '-->', // 11
  '```ts', // 12
  'const m = raft.metrics.current;', // 13
  'const n: number = m.id;', // 14
  '```', // 15
  '', // 16
  '```ts', // 17
  'const x = {', // 18
  '```', // 19
  '', // 20
  '<!-- example: run -->', // 21
  '```typescript', // 22
  'setInterval(() => {}, 1000); // like an example without shutdown(): never exits', // 23
  '```', // 24
  '', // 25
  '<!-- example: run -->', // 26
  '```ts', // 27
  'process.exitCode = 3;', // 28
  '```', // 29
].join('\n');

describe('markdown examples', () => {
  it('extracts ts blocks with their markers, hidden preludes and lines', () => {
    const blocks = extractBlocks('guide.md', md);
    expect(blocks.map((b) => [b.line, b.index, b.mode])).toEqual([
      [4, 1, 'run'],
      [12, 2, 'compile'],
      [17, 3, 'compile'],
      [22, 4, 'run'],
      [27, 5, 'run'],
    ]);
    expect(blocks[1]?.prelude).toBe("declare const raft: import('@flotilla/raft').Raft<string, string>;");
    expect(blocks[1]?.code).toBe('const m = raft.metrics.current;\nconst n: number = m.id;');
  });

  it('reports type errors at their markdown line, syntax errors, and examples that fail or never exit', async () => {
    const failures = await checkExamples(extractBlocks('guide.md', md), opts);
    expect(failures.map((f) => f.key).sort()).toEqual([
      'guide.md #2: compile TS2322', // a string id is not a number, despite the other block's syntax error
      'guide.md #3: compile TS1005',
      'guide.md #4: run timeout',
      'guide.md #5: run exit',
    ]);
    expect(failures.find((f) => f.key.includes('#2'))?.detail).toMatch(/^guide\.md:14: TS2322 /);
  }, 120_000);

  it('resolves relative imports from the markdown file, or from where `at=` says the block lives', async () => {
    const text = [
      '```ts', // a README of this package importing one of its files
      "import { ROOT } from './src/paths.ts';",
      'const root: string = ROOT;',
      '```',
      '<!-- example: compile at=src/example.ts -->', // a file of src/ shown in the README
      '```ts',
      "import { ROOT } from './paths.ts';",
      'const root: string = ROOT;',
      '```',
      '<!-- example: compile at=test/example.ts -->', // there, ./paths.ts does not exist
      '```ts',
      "import { ROOT } from './paths.ts';",
      '```',
    ].join('\n');
    const blocks = extractBlocks('tooling/release/README.md', text);
    expect(blocks.map((b) => b.at)).toEqual([
      undefined,
      'tooling/release/src/example.ts',
      'tooling/release/test/example.ts',
    ]);
    const failures = await checkExamples(blocks, { ...opts, root: ROOT, compileOnly: true });
    expect(failures.map((f) => f.key)).toEqual(['tooling/release/README.md #3: compile TS2307']);
  }, 120_000);

  it("the repository's markdown fails only where api/known-example-failures.txt says (the list only shrinks)", async () => {
    const files = await markdownFiles(ROOT);
    expect(files).toContain('README.md');
    expect(files.some((f) => f.startsWith('docs/'))).toBe(true);
    const blocks = blocksOf(ROOT, files);
    const guides = blocks.filter((b) => b.file.startsWith('docs/'));
    expect(guides.filter((b) => b.mode === 'run').length).toBeGreaterThanOrEqual(3);
    const failures = await checkExamples(blocks, {
      ...opts,
      workDir: join(ROOT, 'tooling/release/.examples'),
      runTimeoutMs: 60_000,
    });
    const known = readList(join(ROOT, 'api/known-example-failures.txt'));
    expect(failures.map((f) => f.key).sort(), failures.map((f) => f.detail).join('\n')).toEqual(known.sort());
    // the guides have no known failure: every block there compiles and every complete one runs
    expect(known.filter((k) => k.startsWith('docs/'))).toEqual([]);
  }, 240_000);

  it('the command line exits non-zero on a failing file', async () => {
    // a markdown file of its own (the repository's may all pass), under the git-ignored fixtures dir
    mkdirSync(join(import.meta.dirname, '../.fixtures'), { recursive: true });
    writeFileSync(
      join(import.meta.dirname, '../.fixtures/failing.md'),
      "```ts\nimport { compareLogId } from '@flotilla/types';\ncompareLogId.nope;\n```\n",
    );
    const r = await exec(
      process.execPath,
      ['--import', 'tsx', 'src/examples-cli.ts', '--compile-only', 'tooling/release/.fixtures/failing.md'],
      {
        cwd: join(import.meta.dirname, '..'),
      },
    ).then(
      () => 'passed',
      (err: { output: string }) => err.output,
    );
    expect(r).toContain('TS2339');
  }, 120_000);
});
