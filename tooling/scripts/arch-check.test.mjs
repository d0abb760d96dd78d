// The architecture check can pass by seeing nothing (an import it cannot resolve is no edge, a rule
// whose paths match nothing never fires). So this test copies the workspace's sources into a temporary
// directory, requires the copy to pass, then plants one violation per rule and requires the check to
// fail naming exactly that rule. Run by check-all's "architecture" stage
// (`pnpm exec vitest run --config tooling/scripts/vitest.config.mjs`).
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archCheck, BASELINE, CONFIG, cruiseRoots } from './arch-check.mjs';

const REPO = resolve(import.meta.dirname, '../..');
let copy = '';

/** Copies a workspace package's node_modules as links: workspace links as they are, others to the real folder. */
function linkNodeModules(pkgDir) {
  const from = join(REPO, pkgDir, 'node_modules');
  if (!existsSync(from)) return;
  const entries = readdirSync(from).flatMap((e) =>
    e.startsWith('@') ? readdirSync(join(from, e)).map((s) => `${e}/${s}`) : e.startsWith('.') ? [] : [e],
  );
  for (const e of entries) {
    const src = join(from, e);
    const dst = join(copy, pkgDir, 'node_modules', e);
    mkdirSync(dirname(dst), { recursive: true });
    const target = readlinkSync(src);
    const inWorkspace = !resolve(dirname(src), target).includes('/node_modules/');
    // A workspace package keeps its relative link (into the copy); anything else links to the real one.
    if (lstatSync(src).isSymbolicLink() && inWorkspace) symlinkSync(target, dst);
    else symlinkSync(realpathSync(src), dst);
  }
}

/** Writes `files` (path → content) into the copy, runs the check, then restores the copy. */
function withPlanted(files, fn) {
  const saved = new Map();
  for (const [path, content] of Object.entries(files)) {
    const p = join(copy, path);
    saved.set(p, existsSync(p) ? readFileSync(p, 'utf8') : null);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  try {
    return fn();
  } finally {
    for (const [p, content] of saved) {
      if (content === null) rmSync(p);
      else writeFileSync(p, content);
    }
  }
}

/**
 * Like {@link withPlanted}, with `pkgDir` also depending on `dep`: its package.json and its
 * node_modules link, as `pnpm install` would make them (`@flotilla/x` links to packages/x, an npm
 * package to where the real workspace has it).
 */
function withDependency(pkgDir, dep, files, fn) {
  const pkg = JSON.parse(readFileSync(join(copy, pkgDir, 'package.json'), 'utf8'));
  const link = join(copy, pkgDir, 'node_modules', dep);
  mkdirSync(dirname(link), { recursive: true });
  if (dep.startsWith('@flotilla/')) symlinkSync(join('../../../', dep.slice('@flotilla/'.length)), link);
  else symlinkSync(realpathSync(join(REPO, 'node_modules/.pnpm/node_modules', dep)), link);
  try {
    const version = dep.startsWith('@flotilla/') ? 'workspace:^' : '*';
    const manifest = { ...pkg, dependencies: { ...pkg.dependencies, [dep]: version } };
    return withPlanted({ ...files, [join(pkgDir, 'package.json')]: JSON.stringify(manifest) }, fn);
  } finally {
    rmSync(link);
  }
}

/** The names of the rules a result breaks (baseline problems and cruise faults fail the test). */
function brokenRules(res) {
  return [...new Set(res.violations.map((v) => v.rule))].sort();
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'flotilla-arch-'));
  for (const f of [CONFIG, BASELINE, 'package.json', 'pnpm-workspace.yaml'])
    if (existsSync(join(REPO, f))) cpSync(join(REPO, f), join(copy, f));
  const pkgDirs = new Set(cruiseRoots(REPO).map((d) => dirname(d)));
  for (const pkg of pkgDirs) {
    cpSync(join(REPO, pkg, 'package.json'), join(copy, pkg, 'package.json'));
    for (const sub of ['src', 'test'])
      if (existsSync(join(REPO, pkg, sub)))
        cpSync(join(REPO, pkg, sub), join(copy, pkg, sub), {
          recursive: true,
          filter: (s) => !s.includes('/node_modules'),
        });
    linkNodeModules(pkg);
  }
});

afterAll(() => {
  if (copy !== '') rmSync(copy, { recursive: true, force: true });
});

describe('architecture check', () => {
  it('passes on a clean copy of the workspace, having followed imports between packages to their sources', () => {
    const res = archCheck(copy);
    expect(res.problems).toEqual([]);
    expect(res.violations).toEqual([]);
    expect(res.ok).toBe(true);
    expect(res.lines.at(-1)).toMatch(/\(([1-9]\d*) between workspace packages\)/);
  });

  it('fails on an import cycle inside a package', () => {
    const res = withPlanted(
      {
        'packages/progress/src/planted-a.ts':
          "import { b } from './planted-b.ts';\nexport const a = (): number => b();\n",
        'packages/progress/src/planted-b.ts':
          "import { a } from './planted-a.ts';\nexport const b = (): number => a();\n",
      },
      () => archCheck(copy),
    );
    expect(res.ok).toBe(false);
    expect(brokenRules(res)).toEqual(['no-cycle-in-package']);
    expect(res.violations.map((v) => v.text).join('\n')).toContain('packages/progress/src/planted-a.ts');
  });

  it('fails on a type-only import cycle too', () => {
    const res = withPlanted(
      {
        'packages/progress/src/planted-a.ts':
          "import type { B } from './planted-b.ts';\nexport type A = { b?: B };\n",
        'packages/progress/src/planted-b.ts':
          "import type { A } from './planted-a.ts';\nexport type B = { a?: A };\n",
      },
      () => archCheck(copy),
    );
    expect(brokenRules(res)).toEqual(['no-cycle-in-package']);
  });

  it("fails on a deep import of another package's source file", () => {
    const res = withPlanted(
      {
        'packages/raft/src/planted.ts':
          "import { Watch } from '../../replication/src/watch.ts';\nexport const planted = Watch;\n",
      },
      () => archCheck(copy),
    );
    expect(res.ok).toBe(false);
    expect(brokenRules(res)).toEqual(['no-internals-of-other-packages']);
    expect(res.violations[0]?.text).toBe('packages/raft/src/planted.ts → packages/replication/src/watch.ts');
  });

  it('fails when a package exports a wildcard of its sources and another imports through it', () => {
    const pkg = JSON.parse(readFileSync(join(copy, 'apps/kv/package.json'), 'utf8'));
    const res = withPlanted(
      {
        'apps/kv/package.json': JSON.stringify({ ...pkg, exports: { ...pkg.exports, './*': './src/*.ts' } }),
        'tooling/bench/src/planted.ts':
          "import { KvState } from 'flotilla-kv/kv-state';\nexport const planted = KvState;\n",
      },
      () => archCheck(copy),
    );
    expect(brokenRules(res)).toEqual(['no-internals-of-other-packages']);
  });

  it('fails when @flotilla/types imports another workspace package', () => {
    const res = withDependency(
      'packages/types',
      '@flotilla/progress',
      {
        'packages/types/src/planted.ts':
          "import { majorityQuorum } from '@flotilla/progress';\nexport const planted = majorityQuorum;\n",
      },
      () => archCheck(copy),
    );
    expect(res.ok).toBe(false);
    expect(brokenRules(res)).toEqual(['types-imports-nothing-of-ours']);
    expect(res.violations[0]?.text).toBe('packages/types/src/planted.ts → packages/progress/src/index.ts');
  });

  it('fails when @flotilla/types imports an npm package', () => {
    const res = withDependency(
      'packages/types',
      'msgpackr',
      { 'packages/types/src/planted.ts': "import { pack } from 'msgpackr';\nexport const planted = pack;\n" },
      () => archCheck(copy),
    );
    expect(res.ok).toBe(false);
    expect(brokenRules(res)).toEqual(['types-imports-nothing-of-ours']);
  });

  it('fails when the engine imports node:fs', () => {
    const res = withPlanted(
      {
        'packages/engine/src/planted.ts':
          "import { readFileSync } from 'node:fs';\nexport const planted = readFileSync;\n",
      },
      () => archCheck(copy),
    );
    expect(res.ok).toBe(false);
    expect(brokenRules(res)).toEqual(['engine-imports-no-io']);
  });

  it('fails when the engine imports an I/O package by its name', () => {
    const res = withDependency(
      'packages/engine',
      '@flotilla/replication',
      {
        'packages/engine/src/planted.ts':
          "import { Watch } from '@flotilla/replication';\nexport const planted = Watch;\n",
      },
      () => archCheck(copy),
    );
    expect(brokenRules(res)).toEqual(['engine-imports-no-io']);
  });

  it('fails on an import it cannot resolve, so that nothing escapes the rules unseen', () => {
    const res = withPlanted(
      { 'packages/engine/src/planted.ts': "export { x } from '@flotilla/no-such-package';\n" },
      () => archCheck(copy),
    );
    expect(brokenRules(res)).toEqual(['not-unresolvable']);
  });

  it('fails when a workspace package stops exporting its sources under the @flotilla/source condition', () => {
    const path = 'packages/progress/package.json';
    const pkg = JSON.parse(readFileSync(join(copy, path), 'utf8'));
    const { '@flotilla/source': _, ...rest } = pkg.exports['.'];
    const manifest = JSON.stringify({ ...pkg, exports: { ...pkg.exports, '.': rest } });
    // Without a build, every import of @flotilla/progress is unresolvable ...
    const unbuilt = withPlanted({ [path]: manifest }, () => archCheck(copy));
    expect(unbuilt.ok).toBe(false);
    expect(brokenRules(unbuilt)).toEqual(['not-unresolvable']);
    // ... and after one, it resolves to dist/, which the rules would check instead of the source.
    const built = withPlanted(
      { [path]: manifest, 'packages/progress/dist/index.js': 'export const majorityQuorum = null;\n' },
      () => archCheck(copy),
    );
    expect(built.ok).toBe(false);
    expect(brokenRules(built)).toEqual(['no-internals-of-other-packages', 'workspace-resolves-to-source']);
  });

  it('refuses a baseline entry other than an engine handler cycle, and a stale one', () => {
    const entries = existsSync(join(copy, BASELINE))
      ? JSON.parse(readFileSync(join(copy, BASELINE), 'utf8'))
      : [];
    const foreign = {
      type: 'dependency',
      from: 'tooling/bench/src/planted.ts',
      to: 'apps/kv/src/kv-state.ts',
      rule: { severity: 'error', name: 'no-internals-of-other-packages' },
    };
    const res = withPlanted({ [BASELINE]: JSON.stringify([...entries, foreign]) }, () => archCheck(copy));
    expect(res.ok).toBe(false);
    expect(res.problems.join('\n')).toContain(
      `${BASELINE} may hold only cycles among packages/engine/src/handlers/`,
    );
    expect(res.problems.join('\n')).toContain('stale');
  });
});
