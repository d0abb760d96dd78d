// The architecture rules of the workspace, checked by dependency-cruiser (`node tooling/scripts/arch-check.mjs`,
// the "architecture" stage of check-all). Paths are relative to the directory the check runs in (the
// repository root, or a temporary copy of it in the check's own test).
//
// A dependency checker can check nothing silently: an import it cannot resolve, or resolves into a build
// output, is no edge of the graph and breaks no rule. So it resolves `.ts` sources through the
// `@flotilla/source` export condition (as vitest, tsx and tsc do here), type-only imports count
// (`tsPreCompilationDeps`), and two rules fail on every import it could not follow to a source file.
// tooling/scripts/arch-check.test.mjs plants one violation per rule in a copy and requires each to fail.
//
// Known violations: .dependency-cruiser-known-violations.json (dependency-cruiser's `--ignore-known`
// baseline) holds the import cycles among the engine's handlers (packages/engine/src/handlers/), which
// issue 13 turns into a DAG; arch-check.mjs prints them on every run, refuses any other entry, and fails
// once an entry no longer occurs. Delete the file when the engine DAG lands.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join, posix } = require('node:path');

/** Workspace package directories (pnpm-workspace.yaml: packages/*, apps/*, tooling/*, tests). */
function workspaceDirs(root) {
  const dirs = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    if (!existsSync(join(root, group))) continue;
    for (const d of readdirSync(join(root, group)).sort())
      if (existsSync(join(root, group, d, 'package.json'))) dirs.push(`${group}/${d}`);
  }
  if (existsSync(join(root, 'tests/package.json'))) dirs.push('tests');
  return dirs;
}

/** Every file a workspace package exports under the `@flotilla/source` condition: its entry points. */
function entryPoints(root) {
  const files = [];
  const visit = (dir, target) => {
    if (typeof target === 'string') {
      if (target.endsWith('.ts') && !target.endsWith('.d.ts'))
        files.push(posix.normalize(`${dir}/${target}`));
    } else if (Array.isArray(target)) for (const t of target) visit(dir, t);
    else if (target !== null && typeof target === 'object') {
      // The source condition when there is one, else every condition (apps export sources plainly).
      if ('@flotilla/source' in target) visit(dir, target['@flotilla/source']);
      else for (const t of Object.values(target)) visit(dir, t);
    }
  };
  for (const dir of workspaceDirs(root)) {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    if (pkg.exports === undefined) continue;
    const exp = pkg.exports;
    const bySubpath =
      typeof exp === 'object' && Object.keys(exp).every((k) => k.startsWith('.')) ? exp : { '.': exp };
    for (const [subpath, target] of Object.entries(bySubpath)) {
      if (subpath.includes('*')) continue; // a wildcard export is no entry point: it exposes internals
      visit(dir, target);
    }
  }
  return files;
}

const regexEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ENTRY_POINTS = entryPoints(process.cwd()).map((f) => `^${regexEscape(f)}$`);

// A workspace package's directory: `packages/x/`, `apps/x/`, `tooling/x/` or `tests/`.
const PACKAGE = '(packages/[^/]+/|apps/[^/]+/|tooling/[^/]+/|tests/)';
// Tests and private test helpers (`test-*.ts`): no part of what a package ships.
const TEST_FILE = '(\\.test\\.ts|/test-[^/]*\\.ts)$';
const NODE_IO = [
  'fs',
  'fs/promises',
  'net',
  'tls',
  'http',
  'https',
  'http2',
  'child_process',
  'worker_threads',
  'dgram',
  'cluster',
  'dns',
  'dns/promises',
  'readline',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle-in-package',
      severity: 'error',
      comment:
        'Modules of one package import each other in a circle: the dependencies of a package form a DAG ' +
        '(a type-only import counts too). Move what both sides need into a module both import.',
      from: { path: `^${PACKAGE}` },
      to: { circular: true },
    },
    {
      name: 'no-internals-of-other-packages',
      severity: 'error',
      comment:
        'A package imports another workspace package only by its name and its declared `exports` (e.g. ' +
        '`@flotilla/replication/testing`), never one of its other files, and never by a relative path: ' +
        'the entry points are the contract, everything else may change at any release.',
      from: { path: `^${PACKAGE}` },
      to: {
        path: `^${PACKAGE}`,
        pathNot: ['^$1', ...ENTRY_POINTS],
      },
    },
    {
      // The same rule for relative paths: one into another package bypasses its package.json
      // (dependencies, exports) even when it names an entry point.
      name: 'no-internals-of-other-packages',
      severity: 'error',
      comment:
        'A relative path into another workspace package bypasses its package.json (dependencies, exports): ' +
        'import it by its package name.',
      from: { path: `^${PACKAGE}` },
      to: { path: `^${PACKAGE}`, pathNot: '^$1', dependencyTypes: ['local'] },
    },
    {
      name: 'types-imports-nothing-of-ours',
      severity: 'error',
      comment:
        '@flotilla/types is the bottom of the graph: contracts only. It imports no other workspace package ' +
        '(its tests neither).',
      from: { path: '^packages/types/' },
      to: { path: `^${PACKAGE}`, pathNot: '^packages/types/' },
    },
    {
      // The same rule for npm packages: @flotilla/types has zero runtime dependencies (its tests may use
      // their dev dependencies).
      name: 'types-imports-nothing-of-ours',
      severity: 'error',
      comment: '@flotilla/types has zero runtime dependencies: its sources import no npm package.',
      from: { path: '^packages/types/src/', pathNot: TEST_FILE },
      to: {
        dependencyTypes: [
          'npm',
          'npm-dev',
          'npm-optional',
          'npm-peer',
          'npm-bundled',
          'npm-no-pkg',
          'npm-unknown',
        ],
      },
    },
    {
      name: 'engine-imports-no-io',
      severity: 'error',
      comment:
        '@flotilla/engine is sans-I/O: inputs are method calls, output is commands. It imports no Node I/O ' +
        'module and none of the packages that do I/O (runtime, replication, transports, storages, memory).',
      from: { path: '^packages/engine/src/', pathNot: TEST_FILE },
      to: {
        path: [
          `^(node:)?(${NODE_IO.map(regexEscape).join('|')})$`,
          '^packages/(raft|replication|memory|transport-[^/]+|storage-[^/]+)/',
        ],
      },
    },
    {
      name: 'not-unresolvable',
      severity: 'error',
      comment:
        'An import the checker cannot resolve is no edge of the graph, so no rule can see it. Fix the ' +
        'import, or the resolution options in .dependency-cruiser.cjs.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'workspace-resolves-to-source',
      severity: 'error',
      comment:
        'A workspace package resolved to a build output or to a copy in node_modules instead of its ' +
        'sources: the rules would check that file, not the source. Export the source under the ' +
        '`@flotilla/source` condition.',
      from: {},
      to: { path: ['(^|/)node_modules/@flotilla/', '^(packages|apps|tooling)/[^/]+/dist/', '^tests/dist/'] },
    },
  ],
  options: {
    // Nothing is excluded: the cruise starts at the packages' src/ and test/ folders, and npm packages
    // (and any build output an import resolved to) stay in the graph as leaves, so that rules see them.
    doNotFollow: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    preserveSymlinks: false,
    moduleSystems: ['es6', 'cjs'],
    enhancedResolveOptions: {
      conditionNames: ['@flotilla/source', 'import', 'module', 'node', 'default'],
      exportsFields: ['exports'],
      mainFields: ['module', 'main', 'types'],
      extensions: ['.ts', '.mts', '.js', '.mjs', '.cjs', '.json'],
    },
    skipAnalysisNotInRules: false,
  },
};
