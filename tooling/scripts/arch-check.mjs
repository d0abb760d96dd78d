#!/usr/bin/env node
// The architecture rules of the workspace (.dependency-cruiser.cjs), checked with dependency-cruiser over
// the sources and tests of every workspace package:
//   no-cycle-in-package              no import cycle inside a package (type-only imports count)
//   no-internals-of-other-packages   another package is imported by name through its declared `exports` only
//   types-imports-nothing-of-ours    @flotilla/types imports no workspace package and no npm package
//   engine-imports-no-io             @flotilla/engine imports no Node I/O module and no I/O package
//   not-unresolvable, workspace-resolves-to-source   every import was followed to a source file
//
// Usage: node tooling/scripts/arch-check.mjs [--root DIR]   (DIR: a copy of the repository; default this one)
// Exit status 0 only if no rule is broken outside the known-violations baseline, the baseline holds
// nothing but what it may hold and nothing stale, and the cruise saw every source file.
//
// The baseline (.dependency-cruiser-known-violations.json, dependency-cruiser's `--ignore-known`) may
// hold only import cycles among the engine's handlers (packages/engine/src/handlers/): they are being
// turned into a DAG (issue 13), and the file is deleted when that lands. Its violations are printed on
// every run, as "known". Any other entry, or an entry that no longer occurs, fails the check.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const REPO = resolve(import.meta.dirname, '../..');
export const CONFIG = '.dependency-cruiser.cjs';
export const BASELINE = '.dependency-cruiser-known-violations.json';
/** The rules the configuration must have: a check whose rule was deleted checks nothing. */
export const REQUIRED_RULES = [
  'no-cycle-in-package',
  'no-internals-of-other-packages',
  'types-imports-nothing-of-ours',
  'engine-imports-no-io',
  'not-unresolvable',
  'workspace-resolves-to-source',
];
/** Where the baseline may tolerate cycles (and nothing else). */
const BASELINE_SCOPE = 'packages/engine/src/handlers/';
const SOURCE = /\.(ts|mts|cts|mjs|cjs|js)$/;

/** The `src/` and `test/` folders of every workspace package under `root`, relative to it. */
export function cruiseRoots(root) {
  const pkgs = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    if (!existsSync(join(root, group))) continue;
    for (const d of readdirSync(join(root, group)).sort())
      if (existsSync(join(root, group, d, 'package.json'))) pkgs.push(`${group}/${d}`);
  }
  if (existsSync(join(root, 'tests/package.json'))) pkgs.push('tests');
  return pkgs
    .flatMap((p) => ['src', 'test'].map((s) => `${p}/${s}`))
    .filter((d) => existsSync(join(root, d)));
}

function sourceFiles(root, dir) {
  return readdirSync(join(root, dir), { recursive: true })
    .map(String)
    .filter((f) => SOURCE.test(f) && !f.endsWith('.d.ts') && !f.split('/').includes('node_modules'))
    .map((f) => `${dir}/${f}`);
}

/** The workspace package directory of a cruised path. */
const packageOf = (path) => /^(packages\/[^/]+|apps\/[^/]+|tooling\/[^/]+|tests)\//.exec(path)?.[1] ?? null;

const key = (v) =>
  [v.rule.name, v.from, v.to, ...(v.cycle ?? []).map((c) => (typeof c === 'string' ? c : c.name))].join(
    ' | ',
  );

function describe(v) {
  if (v.cycle?.length)
    return `${v.from} → ${v.cycle.map((c) => (typeof c === 'string' ? c : c.name)).join(' → ')}`;
  return `${v.from} → ${v.to}`;
}

/**
 * Runs the check on the repository at `root`. Returns `{ ok, lines, violations, known, stale, problems }`:
 * `violations` are the broken rules outside the baseline (each `{rule, from, to, text}`), `problems` the
 * baseline's and the cruise's own faults.
 */
export function archCheck(root = REPO) {
  const lines = [];
  const problems = [];
  const roots = cruiseRoots(root);
  const baseline = join(root, BASELINE);
  const args = [
    join(REPO, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
    '--config',
    CONFIG,
    '--output-type',
    'json',
    ...(existsSync(baseline) ? ['--ignore-known', BASELINE] : []),
    ...roots,
  ];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0 || !r.stdout.trim().startsWith('{')) {
    problems.push(
      `dependency-cruiser failed (exit ${r.status}): ${r.stderr.trim() || r.stdout.slice(0, 2000)}`,
    );
    return finish({ lines, problems, violations: [], known: [], stale: [] });
  }
  const result = JSON.parse(r.stdout);
  const { summary } = result;

  // The cruise itself: every rule present, every source file seen, workspace imports followed to sources.
  const ruleNames = new Set((summary.ruleSetUsed?.forbidden ?? []).map((rule) => rule.name));
  for (const name of REQUIRED_RULES)
    if (!ruleNames.has(name)) problems.push(`${CONFIG} has no rule '${name}'`);
  const seen = new Set(result.modules.map((m) => m.source));
  const unseen = roots.flatMap((d) => sourceFiles(root, d)).filter((f) => !seen.has(f));
  if (unseen.length > 0) problems.push(`not cruised (${unseen.length}): ${unseen.slice(0, 10).join(', ')}`);
  const crossPackage = result.modules
    .flatMap((m) => m.dependencies.map((d) => [m.source, d.resolved]))
    .filter(([from, to]) => /^packages\/[^/]+\/src\//.test(to) && packageOf(from) !== packageOf(to));
  if (crossPackage.length === 0)
    problems.push(
      'no import of one workspace package by another resolved to its sources: the check would see nothing',
    );

  // Violations, known ones apart.
  const all = summary.violations;
  const violations = all.filter((v) => v.rule.severity !== 'ignore' && v.rule.severity !== 'info');
  const known = all.filter((v) => v.rule.severity === 'ignore');

  // The baseline: only engine handler cycles, none stale.
  let stale = [];
  if (existsSync(baseline)) {
    const entries = JSON.parse(readFileSync(baseline, 'utf8'));
    for (const e of entries) {
      const files = [e.from, e.to, ...(e.cycle ?? []).map((c) => (typeof c === 'string' ? c : c.name))];
      if (e.rule?.name !== 'no-cycle-in-package' || !files.every((f) => f.startsWith(BASELINE_SCOPE)))
        problems.push(
          `${BASELINE} may hold only cycles among ${BASELINE_SCOPE}, not: ${e.rule?.name} ${e.from} → ${e.to}`,
        );
    }
    const knownKeys = new Set(known.map(key));
    stale = entries.filter((e) => !knownKeys.has(key(e)));
    for (const e of stale)
      problems.push(`stale ${BASELINE} entry (no longer occurs, remove it): ${e.rule?.name} ${describe(e)}`);
  }

  for (const v of violations) lines.push(`error ${v.rule.name}: ${describe(v)}`);
  for (const v of known) lines.push(`known ${v.rule.name}: ${describe(v)} (${BASELINE})`);
  lines.push(
    `architecture: ${summary.totalCruised} modules, ${summary.totalDependenciesCruised} dependencies ` +
      `(${crossPackage.length} between workspace packages), ${violations.length} violations, ` +
      `${known.length} known (baseline), rules: ${REQUIRED_RULES.slice(0, 4).join(', ')}`,
  );
  return finish({
    lines,
    problems,
    violations: violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to, text: describe(v) })),
    known,
    stale,
  });
}

function finish(res) {
  for (const p of res.problems) res.lines.push(`problem: ${p}`);
  return { ...res, ok: res.violations.length === 0 && res.problems.length === 0 };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const at = process.argv.indexOf('--root');
  const root = at >= 0 ? resolve(process.argv[at + 1]) : REPO;
  const res = archCheck(root);
  for (const line of res.lines) process.stdout.write(`${line}\n`);
  process.stdout.write(
    `architecture check ${relative(process.cwd(), root) || '.'}: ${res.ok ? 'passed' : 'FAILED'}\n`,
  );
  process.exit(res.ok ? 0 : 1);
}
