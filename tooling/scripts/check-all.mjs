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
import { join, relative } from 'node:path';
import { aptInstall, aptMissing, ensureWorkspace, ROOT, run } from './workspace.mjs';

const RESULTS = join(ROOT, '.vitest-results');
// Debian packages the tests need; installed only when missing.
const APT_PACKAGES = [
  'openssl',
  'iproute2',
  'procps',
  // The chaos harness cuts links with iptables; the kv-vs-etcd benchmark runs Debian's etcd.
  'iptables',
  'etcd-server',
  ...(existsSync(join(ROOT, 'apps/kv/test')) ? ['chromium'] : []),
];

const totals = { passed: 0, failed: 0 };
const timings = [];
const failures = [];

function log(msg) {
  process.stdout.write(`${msg}\n`);
}

// FLOTILLA_STAGES=release,lint runs only the stages whose names contain one of these words (and the
// stages in ALWAYS).
const ALWAYS = new Set(['install', 'test plan']);
const ONLY = process.env.FLOTILLA_STAGES?.split(',').filter(Boolean) ?? [];

function stage(name, fn) {
  if (ONLY.length > 0 && !ALWAYS.has(name) && !ONLY.some((w) => name.includes(w))) return;
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

const slug = (label) => label.replace(/[^a-z0-9-]+/gi, '_');
const COVERAGE = join(RESULTS, 'coverage');
/** Labels of the runs whose coverage was written (and so merged into the printed figure). */
const coverageRuns = [];

/**
 * Runs one planned vitest run (see `planRuns`) and adds its counts to the totals. A run that did not
 * execute exactly its planned test files fails: the plan is what makes each file count once.
 */
function vitest(planned) {
  const { label, dir, files, coverage, config, filter } = planned;
  const out = join(RESULTS, `${slug(label)}.json`);
  rmSync(out, { force: true });
  const args = [
    'exec',
    'vitest',
    'run',
    ...(config === null ? [] : ['--config', config]),
    ...(filter ? files.map((f) => relative(join(ROOT, dir), join(ROOT, f))) : []),
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
    ...(coverage
      ? [
          '--coverage',
          '--coverage.reportOnFailure',
          '--coverage.allowExternal',
          // Every published source counts, the published `./testing` kits included (they ship);
          // only tests and private test helpers (`test-*.ts`, excluded from every build) do not.
          '--coverage.include=**/packages/*/src/**/*.ts',
          '--coverage.exclude=**/*.test.ts',
          '--coverage.exclude=**/test-*.ts',
          '--coverage.reporter=json',
          `--coverage.reportsDirectory=${join(COVERAGE, slug(label))}`,
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
  // The files vitest ran are the planned ones, no more, no fewer.
  const ran = new Set((j.testResults ?? []).map((f) => relative(ROOT, f.name)));
  const extra = [...ran].filter((f) => !files.includes(f));
  const missing = files.filter((f) => !ran.has(f));
  if (extra.length > 0 || missing.length > 0)
    check(
      `vitest ${label} ran its planned files (extra: ${extra.join(', ')}; missing: ${missing.join(', ')})`,
      false,
    );
  if (coverage && existsSync(join(COVERAGE, slug(label), 'coverage-final.json'))) coverageRuns.push(label);
}

function workspaceDirs(group) {
  const base = join(ROOT, group);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .map((d) => join(group, d))
    .filter((d) => existsSync(join(ROOT, d, 'package.json')));
}

const TEST_FILE = /\.test\.(ts|mts|mjs)$/;
const NOT_SOURCE = new Set(['node_modules', 'dist', 'coverage', '.git', '.turbo', '.vitest-results']);

/** Test files under `dir` (relative to the root), skipping build output and dependencies. */
function testFilesUnder(dir) {
  const found = [];
  const walk = (p) => {
    if (!existsSync(p)) return;
    for (const f of readdirSync(p).sort()) {
      if (NOT_SOURCE.has(f)) continue;
      const q = join(p, f);
      if (statSync(q).isDirectory()) walk(q);
      else if (TEST_FILE.test(f)) found.push(relative(ROOT, q));
    }
  };
  walk(join(ROOT, dir));
  return found;
}

/** The test files vitest runs in a workspace package (tooling/vitest.shared.ts: src/ and test/). */
function packageTestFiles(dir) {
  return [...testFilesUnder(join(dir, 'src')), ...testFilesUnder(join(dir, 'test'))].filter((f) =>
    f.endsWith('.test.ts'),
  );
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
  // Coverage of an earlier invocation would be merged into this one's figure.
  rmSync(COVERAGE, { recursive: true, force: true });
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

// ------------------------------------------------------------------ vitest runs

/**
 * Every vitest run of this script: its stage, label, directory, the test files it runs (relative to
 * the root; `filter` when they are passed to vitest, else they are the package's whole suite), and
 * whether its coverage counts. Each test file of the repository is in exactly one run, which the
 * 'test plan' check below proves before anything runs, and each run proves after it ran.
 */
function planRuns() {
  const runs = [];
  const add = (stage, label, dir, files, { coverage = true, filter = false, config = null } = {}) => {
    if (files.length > 0) runs.push({ stage, label, dir, files, coverage, filter, config });
  };
  const ownStage = new Set(['packages/storage-file', 'packages/transport-tcp', 'packages/transport-grpc']);
  // The chaos harness starts real processes: its smoke run and its own tests have a stage of their own.
  // The release rehearsal (a local registry, docs and API reports) belongs with the release checks.
  const chaosDir = 'tooling/chaos';
  const releaseDir = 'tooling/release';
  for (const dir of [...workspaceDirs('packages'), ...workspaceDirs('tooling')])
    if (!ownStage.has(dir) && dir !== chaosDir && dir !== releaseDir)
      add('unit and property tests', pkgName(dir), dir, packageTestFiles(dir));
  if (existsSync(join(ROOT, chaosDir)))
    add('chaos smoke', pkgName(chaosDir), chaosDir, packageTestFiles(chaosDir), { coverage: false });
  if (existsSync(join(ROOT, releaseDir)))
    add('release checks', pkgName(releaseDir), releaseDir, packageTestFiles(releaseDir), { coverage: false });
  for (const dir of ownStage)
    if (existsSync(join(ROOT, dir))) add('storage and transport', pkgName(dir), dir, packageTestFiles(dir));
  // tests/: each file goes to the first group whose pattern matches its path (relative to tests/).
  const groups = [
    ['unit and property tests', 'tests: unit', /^src\//, {}],
    ['planted-bug runs', 'tests: planted bugs', /planted/, { coverage: false }],
    ['chaos smoke', 'tests: chaos smoke', /chaos/, { coverage: false }],
    ['simulation seeds', 'tests: simulation', /(^|\/)sim-/, {}],
    ['cluster tests', 'tests: cluster', /./, {}],
  ];
  const byGroup = new Map(groups.map((g) => [g, []]));
  for (const f of [...testFilesUnder('tests/src'), ...testFilesUnder('tests/test')]) {
    const g = groups.find(([, , re]) => re.test(relative('tests', f)));
    byGroup.get(g).push(f);
  }
  for (const [[stage, label, , opts], files] of byGroup)
    add(stage, label, 'tests', files, { ...opts, filter: true });
  // The apps start real processes (and a browser): their coverage of the packages is not counted.
  for (const dir of workspaceDirs('apps'))
    add('demo and browser', pkgName(dir), dir, packageTestFiles(dir), { coverage: false });
  add('architecture', 'architecture check planted', '.', testFilesUnder('tooling/scripts'), {
    coverage: false,
    config: 'tooling/scripts/vitest.config.mjs',
  });
  return runs;
}

const VITEST_RUNS = planRuns();

stage('test plan', () => {
  // Every test file of the repository runs in exactly one vitest run, so no test counts twice and
  // none silently never runs.
  const where = new Map();
  for (const r of VITEST_RUNS) for (const f of r.files) where.set(f, [...(where.get(f) ?? []), r.label]);
  const twice = [...where].filter(([, labels]) => labels.length > 1);
  const nowhere = ['packages', 'apps', 'tooling', 'tests']
    .flatMap((d) => testFilesUnder(d))
    .filter((f) => !where.has(f));
  for (const [f, labels] of twice) log(`in ${labels.length} runs (${labels.join(', ')}): ${f}`);
  for (const f of nowhere) log(`in no run: ${f}`);
  for (const r of VITEST_RUNS)
    log(`${r.stage} / ${r.label}: ${r.files.length} files${r.coverage ? '' : ' (coverage off)'}`);
  check(
    `test plan: ${where.size} test files, each in exactly one run`,
    twice.length === 0 && nowhere.length === 0,
  );
});

/** A stage that runs its planned vitest runs. */
function testStage(name) {
  stage(name, () => {
    for (const r of VITEST_RUNS) if (r.stage === name) vitest(r);
  });
}

stage('architecture', () => {
  // The dependency rules (.dependency-cruiser.cjs, see arch-check.mjs): one check. Then the test that
  // plants one violation per rule in a copy of the sources and requires the check to fail on each.
  check('architecture rules (dependency-cruiser)', run('node', ['tooling/scripts/arch-check.mjs']));
  for (const r of VITEST_RUNS) if (r.stage === 'architecture') vitest(r);
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

testStage('unit and property tests');
testStage('storage and transport');
testStage('simulation seeds');
testStage('planted-bug runs');
testStage('cluster tests');
testStage('demo and browser');
testStage('chaos smoke');

stage('benchmark smoke', () => {
  // Every benchmark at a seconds-long size, no speed assertions: none of them rots.
  check(
    'benchmark smoke (every benchmark, --smoke)',
    run('pnpm', ['--filter', '@flotilla/bench', 'run', 'smoke']),
  );
});

stage('release checks', () => {
  for (const r of VITEST_RUNS) if (r.stage === 'release checks') vitest(r);
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
 * Line coverage of the published packages' sources, merged over the runs that wrote coverage in this
 * invocation (`coverageRuns`: a package's own tests, the simulators, the cluster tests): a line is
 * covered when any statement on it ran in any of them.
 */
function mergedCoverage() {
  const lines = new Map(); // file -> Map(line -> covered)
  for (const label of coverageRuns) {
    const f = join(COVERAGE, slug(label), 'coverage-final.json');
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
  const off = VITEST_RUNS.filter((r) => !r.coverage && timings.some(([name]) => name === r.stage)).map(
    (r) => r.label,
  );
  log(
    `line coverage (packages' src/, tests excluded, merged over ${coverageRuns.length} runs: ` +
      `${coverageRuns.join(', ')}): ${pct(coverage)}% (${coverage.covered}/${coverage.total} lines)` +
      (off.length > 0 ? `; not counted (coverage off): ${off.join(', ')}` : ''),
  );
}
if (failures.length > 0) {
  log('\nfailures:');
  for (const f of failures) log(`  - ${f}`);
}
log(`\n${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed === 0 ? 0 : 1);
