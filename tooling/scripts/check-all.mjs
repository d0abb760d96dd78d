#!/usr/bin/env node
// Runs every check and test of the repository, from a fresh machine (Debian 12, root, Node 20 + npm).
// It installs what it needs (pnpm from npm, Debian packages the tests use, the workspace), then runs the
// stages below, timing each, and ends with one line: `N passed, N failed`, summed over every package.
// Checks that are not vitest tests (lint, typecheck, build, pack) count as one test each.
// Exit status: 0 only if nothing failed.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { aptInstall, aptMissing, ensureWorkspace, ROOT, run } from './workspace.mjs';

const RESULTS = join(ROOT, '.vitest-results');
// Debian packages the tests need; installed only when missing.
const APT_PACKAGES = [
  'openssl',
  'iproute2',
  'procps',
  ...(existsSync(join(ROOT, 'apps/kv/test')) ? ['chromium'] : []),
];

const totals = { passed: 0, failed: 0 };
const timings = [];
const failures = [];

function log(msg) {
  process.stdout.write(`${msg}\n`);
}

// FLOTILLA_STAGES=release,lint runs only the stages whose names contain one of these words (and install).
const ONLY = process.env.FLOTILLA_STAGES?.split(',').filter(Boolean) ?? [];

function stage(name, fn) {
  if (ONLY.length > 0 && name !== 'install' && !ONLY.some((w) => name.includes(w))) return;
  const t0 = Date.now();
  log(`\n===== stage: ${name} =====`);
  try {
    fn();
  } catch (err) {
    failures.push(`${name}: ${err.message}`);
    totals.failed++;
  }
  const s = (Date.now() - t0) / 1000;
  timings.push([name, s]);
  log(`===== ${name}: ${s.toFixed(1)} s =====`);
}

/** A check that is not a vitest test: one test in the totals. */
function check(name, ok) {
  if (ok) totals.passed++;
  else {
    totals.failed++;
    failures.push(name);
  }
  log(`[check] ${name}: ${ok ? 'passed' : 'FAILED'}`);
}

/** Runs vitest in `dir` and adds its counts to the totals. */
function vitest(label, dir, files = [], { coverage = true } = {}) {
  const out = join(RESULTS, `${label.replace(/[^a-z0-9-]+/gi, '_')}.json`);
  rmSync(out, { force: true });
  const args = [
    'exec',
    'vitest',
    'run',
    ...files,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
    ...(coverage
      ? [
          '--coverage',
          '--coverage.reportOnFailure',
          '--coverage.allowExternal',
          '--coverage.include=**/packages/*/src/**/*.ts',
          '--coverage.exclude=**/*.test.ts',
          '--coverage.exclude=**/test-*.ts',
          '--coverage.exclude=**/testing/**',
          '--coverage.reporter=json',
          `--coverage.reportsDirectory=${join(RESULTS, 'coverage', label.replace(/[^a-z0-9-]+/gi, '_'))}`,
        ]
      : []),
  ];
  log(`$ (cd ${dir}) pnpm ${args.join(' ')}`);
  const r = spawnSync('pnpm', args, {
    cwd: join(ROOT, dir),
    stdio: 'inherit',
    env: { ...process.env, CI: 'true' },
  });
  if (!existsSync(out)) {
    check(`vitest ${label} (no report, exit ${r.status})`, false);
    return;
  }
  const j = JSON.parse(readFileSync(out, 'utf8'));
  const passed = j.numPassedTests ?? 0;
  // Failed tests, plus one per test file that failed without a failing test (e.g. it did not load),
  // plus one if vitest itself failed with nothing else to show for it.
  const brokenFiles = (j.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length;
  const counted = (j.numFailedTests ?? 0) + brokenFiles;
  const failed = counted + (r.status !== 0 && counted === 0 ? 1 : 0);
  const skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  totals.passed += passed;
  totals.failed += failed;
  if (skipped > 0) {
    totals.failed += skipped;
    failures.push(`${label}: ${skipped} skipped/todo tests (not allowed)`);
  }
  if (failed > 0) failures.push(`${label}: ${failed} failed`);
  log(`[vitest] ${label}: ${passed} passed, ${failed} failed`);
}

function workspaceDirs(group) {
  const base = join(ROOT, group);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .map((d) => join(group, d))
    .filter((d) => existsSync(join(ROOT, d, 'package.json')));
}

function hasTests(dir) {
  const walk = (p) => {
    if (!existsSync(p)) return false;
    for (const f of readdirSync(p)) {
      const q = join(p, f);
      if (f === 'node_modules') continue;
      if (statSync(q).isDirectory()) {
        if (walk(q)) return true;
      } else if (f.endsWith('.test.ts')) return true;
    }
    return false;
  };
  return walk(join(ROOT, dir, 'src')) || walk(join(ROOT, dir, 'test'));
}

/** Whether a workspace package has any source yet (an empty placeholder is not checked). */
function hasSources(dir) {
  const src = join(ROOT, dir, 'src');
  return existsSync(src) && readdirSync(src, { recursive: true }).some((f) => String(f).endsWith('.ts'));
}

function pkgName(dir) {
  return JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')).name;
}

// ------------------------------------------------------------------ stages

stage('install', () => {
  if (aptMissing(APT_PACKAGES).length > 0)
    check(`apt-get install ${aptMissing(APT_PACKAGES).join(' ')}`, aptInstall(APT_PACKAGES));
  const ok = ensureWorkspace();
  check('pnpm install --frozen-lockfile', ok);
  if (!ok) throw new Error('workspace install failed');
  mkdirSync(RESULTS, { recursive: true });
});

stage('build', () => {
  check(
    'build (turbo run build)',
    run('pnpm', ['exec', 'turbo', 'run', 'build', '--continue', '--output-logs=errors-only']),
  );
});

stage('lint', () => {
  check('lint (biome check)', run('pnpm', ['exec', 'biome', 'check', '.']));
});

stage('architecture', () => {
  // The dependency rules (.dependency-cruiser.cjs, see arch-check.mjs): one check. Then the test that
  // plants one violation per rule in a copy of the sources and requires the check to fail on each.
  check('architecture rules (dependency-cruiser)', run('node', ['tooling/scripts/arch-check.mjs']));
  vitest('architecture check planted', '.', ['--config', 'tooling/scripts/vitest.config.mjs'], {
    coverage: false,
  });
});

stage('typecheck', () => {
  for (const dir of [
    ...workspaceDirs('packages'),
    'tests',
    ...workspaceDirs('apps'),
    ...workspaceDirs('tooling'),
  ]) {
    if (!existsSync(join(ROOT, dir, 'tsconfig.json')) || !hasSources(dir)) continue;
    check(
      `typecheck ${pkgName(dir)}`,
      run('pnpm', ['--filter', pkgName(dir), 'exec', 'tsc', '-p', 'tsconfig.json']),
    );
  }
});

stage('unit and property tests', () => {
  for (const dir of [...workspaceDirs('packages'), ...workspaceDirs('tooling')]) {
    if (dir.endsWith('storage-file') || dir.endsWith('transport-tcp')) continue;
    if (hasTests(dir)) vitest(pkgName(dir), dir);
  }
});

stage('storage and transport', () => {
  for (const dir of ['packages/storage-file', 'packages/transport-tcp'])
    if (hasTests(dir)) vitest(pkgName(dir), dir);
});

const testsDir = join(ROOT, 'tests/test');
const testFiles = (re) =>
  existsSync(testsDir)
    ? readdirSync(testsDir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.test.ts') && re.test(f))
        .map((f) => `test/${f}`)
    : [];

stage('simulation seeds', () => {
  const files = testFiles(/(^|\/)sim-(?!planted)/);
  if (files.length > 0) vitest('tests: simulation', 'tests', files);
});

stage('planted-bug runs', () => {
  const files = testFiles(/planted/);
  if (files.length > 0) vitest('tests: planted bugs', 'tests', files, { coverage: false });
});

stage('cluster tests', () => {
  const files = testFiles(/^(?!.*(sim-|planted|chaos)).*/);
  if (files.length > 0) vitest('tests: cluster', 'tests', files);
});

stage('demo and browser', () => {
  for (const dir of workspaceDirs('apps'))
    if (hasTests(dir)) vitest(pkgName(dir), dir, [], { coverage: false });
});

stage('chaos smoke', () => {
  const files = testFiles(/chaos/);
  if (files.length > 0) vitest('tests: chaos smoke', 'tests', files, { coverage: false });
});

stage('release checks', () => {
  // STYLE §10: each published package packs to a tarball holding its build and no tests, passes
  // publint and arethetypeswrong, and the packed tarballs install and run in an empty project.
  const packs = join(RESULTS, 'packs');
  rmSync(packs, { recursive: true, force: true });
  mkdirSync(packs, { recursive: true });
  const tarballs = [];
  for (const dir of workspaceDirs('packages')) {
    if (!hasSources(dir)) continue;
    const name = pkgName(dir);
    let tarball = null;
    try {
      const out = execFileSync('pnpm', ['pack', '--json', '--pack-destination', packs], {
        cwd: join(ROOT, dir),
        encoding: 'utf8',
      });
      const info = JSON.parse(out.slice(out.indexOf('{')));
      const meta = Array.isArray(info) ? info[0] : info;
      const files = meta.files.map((f) => f.path);
      const hasDist = files.includes('dist/index.js') && files.includes('dist/index.d.ts');
      const leaked = files.filter((f) => /\.test\.|(^|\/)test\/|(^|\/)test-[^/]*$/.test(f));
      if (hasDist && leaked.length === 0) tarball = join(packs, meta.filename.split('/').pop());
      else log(`pack ${name}: dist=${hasDist} leaked=${leaked.join(',')}`);
    } catch (err) {
      log(`pack ${name}: ${err.message}`);
    }
    check(`pack ${name}`, tarball !== null);
    if (tarball === null) continue;
    tarballs.push(tarball);
    check(`publint ${name}`, run('pnpm', ['exec', 'publint', '--strict'], { cwd: join(ROOT, dir) }));
    check(
      `attw ${name}`,
      run('pnpm', ['exec', 'attw', tarball, '--profile', 'esm-only', '--format', 'table-flipped']),
    );
  }
  // The tarballs, installed with npm into an empty project, run a 3-node in-memory cluster.
  const project = join(packs, 'project');
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), '{"name":"packed-smoke","private":true,"type":"module"}\n');
  copyFileSync(join(ROOT, 'tooling/scripts/packed-smoke.mjs'), join(project, 'smoke.mjs'));
  const installed = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], {
    cwd: project,
  });
  check('packed tarballs run in an empty project', installed && run('node', ['smoke.mjs'], { cwd: project }));
  // Every pending changeset parses and names known packages.
  check('changeset status', run('pnpm', ['exec', 'changeset', 'status']));
});

// ------------------------------------------------------------------ summary

/**
 * Line coverage of the published packages' sources, merged over every vitest run (a package's own
 * tests, the simulators and the cluster tests all count): a line is covered when any statement on it
 * ran in any run.
 */
function mergedCoverage() {
  const dir = join(RESULTS, 'coverage');
  const lines = new Map(); // file -> Map(line -> covered)
  if (existsSync(dir)) {
    for (const sub of readdirSync(dir)) {
      const f = join(dir, sub, 'coverage-final.json');
      if (!existsSync(f)) continue;
      const data = JSON.parse(readFileSync(f, 'utf8'));
      for (const [file, cov] of Object.entries(data)) {
        const at = file.indexOf('/packages/');
        if (at < 0 || !file.includes('/src/')) continue;
        const rel = file.slice(at + 1);
        let m = lines.get(rel);
        if (m === undefined) {
          m = new Map();
          lines.set(rel, m);
        }
        for (const [id, loc] of Object.entries(cov.statementMap)) {
          const line = loc.start.line;
          m.set(line, (m.get(line) ?? false) || cov.s[id] > 0);
        }
      }
    }
  }
  const total = { total: 0, covered: 0 };
  const perPackage = new Map();
  for (const [file, m] of lines) {
    const pkg = file.split('/')[1];
    const p = perPackage.get(pkg) ?? { total: 0, covered: 0 };
    for (const c of m.values()) {
      for (const t of [total, p]) {
        t.total++;
        if (c) t.covered++;
      }
    }
    perPackage.set(pkg, p);
  }
  return { ...total, perPackage };
}

const coverage = mergedCoverage();

log('\n===== stage timings (s) =====');
for (const [name, s] of timings) log(`${name.padEnd(28)} ${s.toFixed(1)}`);
if (coverage.total > 0) {
  const pct = (c) => ((100 * c.covered) / c.total).toFixed(2);
  for (const [pkg, c] of [...coverage.perPackage].sort()) log(`  ${pkg.padEnd(16)} ${pct(c)}% lines`);
  log(
    `line coverage (packages, merged over all runs): ${pct(coverage)}% (${coverage.covered}/${coverage.total} lines)`,
  );
}
if (failures.length > 0) {
  log('\nfailures:');
  for (const f of failures) log(`  - ${f}`);
}
log(`\n${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed === 0 ? 0 : 1);
