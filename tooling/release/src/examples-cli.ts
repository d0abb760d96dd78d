// `pnpm docs:examples`: compiles every ```ts block of every README.md and docs/**/*.md and runs the
// complete ones (see examples.ts for the markers).
//
//   tsx tooling/release/src/examples-cli.ts [--accept-failures] [--compile-only] [FILE.md ...]
//
// Exit status 0 only if every failure is one listed in api/known-example-failures.txt and every
// listed one still fails (the list only shrinks). --accept-failures rewrites that list.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readList, writeList } from './api.ts';
import { blocksOf, checkExamples, markdownFiles } from './examples.ts';
import { ROOT } from './paths.ts';

const { values, positionals } = parseArgs({
  options: {
    'accept-failures': { type: 'boolean', default: false },
    'compile-only': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const KNOWN = join(ROOT, 'api/known-example-failures.txt');
const t0 = Date.now();
const files = positionals.length > 0 ? positionals : await markdownFiles(ROOT);
const blocks = blocksOf(ROOT, files);
const failures = await checkExamples(blocks, {
  workDir: join(ROOT, 'tooling/release/.examples'),
  tsconfigBase: join(ROOT, 'tooling/tsconfig/base.json'),
  compileOnly: values['compile-only'],
  runTimeoutMs: 60_000,
});
const runs = blocks.filter((b) => b.mode === 'run').length;
process.stdout.write(
  `${blocks.length} ts blocks in ${files.length} files (${runs} complete examples run); ${failures.length} failures; ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
);
const listed = new Set(readList(KNOWN));
for (const f of failures)
  process.stdout.write(
    `  ${listed.has(f.key) && positionals.length === 0 ? '(known) ' : ''}${f.detail.split('\n')[0]}\n`,
  );
const today = failures.map((f) => f.key).sort();
let bad: string[] = [];
if (values['accept-failures']) {
  writeList(
    KNOWN,
    'Examples in markdown that do not compile or run today (in files this check may not edit yet).\nThe check fails on any failure not listed here and on any line here that passes: the list only shrinks.\nRegenerate with: pnpm --filter @flotilla/release-check run examples --accept-failures (after fixing, never to hide a new failure).',
    today,
  );
} else if (positionals.length === 0) {
  const known = listed;
  bad = [
    ...today.filter((k) => !known.has(k)).map((k) => `new failure: ${k}`),
    ...[...known]
      .filter((k) => !(values['compile-only'] && k.includes(': run ')))
      .filter((k) => !today.includes(k))
      .map((k) => `passes now, remove it from api/known-example-failures.txt: ${k}`),
  ];
} else bad = today;
for (const b of bad) process.stdout.write(`FAIL ${b}\n`);
process.exit(bad.length === 0 ? 0 : 1);
