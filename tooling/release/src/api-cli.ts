// `pnpm docs` / `pnpm docs:check` / `pnpm api:update`: API reports, doc-comment and link checks over
// every entry point of every published package (built `.d.ts`: run `pnpm build` first), and the
// markdown API reference under docs/api/.
//
//   tsx tooling/release/src/api-cli.ts [--update] [--accept-gaps] [--markdown DIR]
//
// --update       rewrite packages/<p>/etc/*.api.md where the public API changed (review the diff)
// --accept-gaps  rewrite api/known-doc-gaps.txt with today's gaps (only to shrink it, never to grow it)
// --markdown DIR keep the API reference pages there (relative to the repository root)
// Exit status 0 only if every report is up to date and no doc gap is outside the known list.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { apiMarkdown, checkApi, entryPoints, readList, writeList } from './api.ts';
import { ROOT } from './paths.ts';

const { values } = parseArgs({
  options: {
    update: { type: 'boolean', default: false },
    'accept-gaps': { type: 'boolean', default: false },
    markdown: { type: 'string' },
  },
});

const GAPS = join(ROOT, 'api/known-doc-gaps.txt');
const work = mkdtempSync(join(tmpdir(), 'flotilla-api-'));
const failures: string[] = [];
const gaps: string[] = [];
const t0 = Date.now();
try {
  for (const entry of entryPoints(ROOT)) {
    const r = checkApi(entry, { update: values.update, workDir: work });
    const state = r.reportChanged ? 'CHANGED' : values.update ? 'written' : 'up to date';
    process.stdout.write(
      `${entry.id.padEnd(32)} report ${state}; ${r.undocumented.length} undocumented, ${r.unresolvedLinks.length} unresolved links\n`,
    );
    if (r.reportChanged)
      failures.push(`${entry.id}: public API differs from ${r.reportPath} (review, then pnpm api:update)`);
    failures.push(...r.errors);
    gaps.push(
      ...r.undocumented.map((u) => `undocumented ${u}`),
      ...r.unresolvedLinks.map((u) => `link ${u}`),
    );
  }
  // The pages are always generated (API Documenter finds the links API Extractor does not check,
  // e.g. in package documentation); kept only with --markdown.
  const out = values.markdown !== undefined ? join(ROOT, values.markdown) : join(work, 'markdown');
  const broken = await apiMarkdown(join(work, 'models'), out);
  gaps.push(...broken.map((b) => `link (api-documenter) ${b}`));
  if (values.markdown !== undefined) process.stdout.write(`API reference written to ${values.markdown}/\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

// Doc gaps: none may appear that is not in the known list, and the list may only shrink.
const known = new Set(readList(GAPS));
const today = [...new Set(gaps)].sort();
if (values['accept-gaps']) {
  writeList(
    GAPS,
    'Public API doc gaps of today (undocumented exports, {@link}s that resolve to nothing).\nThe API check fails on any gap not listed here and on any line here that is fixed: the list only shrinks.\nRegenerate with: pnpm api:gaps (after fixing, never to hide a new gap).',
    today,
  );
} else {
  for (const g of today) if (!known.has(g)) failures.push(`new doc gap: ${g}`);
  for (const k of known)
    if (!today.includes(k)) failures.push(`fixed, remove it from api/known-doc-gaps.txt: ${k}`);
}
process.stdout.write(`${today.length} known doc gaps; ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
for (const f of failures) process.stdout.write(`FAIL ${f}\n`);
process.exit(failures.length === 0 ? 0 : 1);
