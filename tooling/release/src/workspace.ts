// The release steps of RELEASING.md, run in a throwaway copy of the repository: copy what git
// tracks, install, build, `changeset version`, `changeset publish` to a given registry.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exec } from './exec.ts';

/** A workspace package as its package.json says. */
export interface WorkspacePackage {
  dir: string;
  name: string;
  version: string;
  private: boolean;
  dependencies: Record<string, string>;
}

/** One line of `changeset status --output`: what `changeset version` is about to do to a package. */
export interface PlannedRelease {
  name: string;
  type: 'major' | 'minor' | 'patch' | 'none';
  oldVersion: string;
  newVersion: string;
}

/**
 * Copies the files git knows of (tracked, plus untracked ones not ignored: a pending changeset not yet
 * added is part of the release) from `root` to `dest`, and makes `dest` a one-commit git repository on
 * `main` (changesets reads git to find changesets).
 */
export async function copyRepository(root: string, dest: string): Promise<number> {
  const { stdout } = await exec('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
  });
  let n = 0;
  for (const rel of stdout.split('\0')) {
    if (rel === '' || !existsSync(join(root, rel))) continue;
    mkdirSync(dirname(join(dest, rel)), { recursive: true });
    copyFileSync(join(root, rel), join(dest, rel));
    n++;
  }
  const git = (args: string[]) =>
    exec('git', ['-c', 'user.name=release-rehearsal', '-c', 'user.email=rehearsal@invalid', ...args], {
      cwd: dest,
    });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['commit', '-q', '--no-verify', '-m', 'copy for the release rehearsal']);
  return n;
}

/** The workspace's packages under `packages/`. */
export function workspacePackages(root: string): WorkspacePackage[] {
  const base = join(root, 'packages');
  return readdirSync(base)
    .filter((d) => existsSync(join(base, d, 'package.json')))
    .map((d) => {
      const pkg = JSON.parse(readFileSync(join(base, d, 'package.json'), 'utf8')) as {
        name: string;
        version: string;
        private?: boolean;
        dependencies?: Record<string, string>;
      };
      return {
        dir: join(base, d),
        name: pkg.name,
        version: pkg.version,
        private: pkg.private === true,
        dependencies: pkg.dependencies ?? {},
      };
    });
}

/** The workspace's packages that are published. */
export function publicPackages(root: string): WorkspacePackage[] {
  return workspacePackages(root).filter((p) => !p.private);
}

/** Writes a changeset (`.changeset/<id>.md`) bumping `bumps` with `summary`. */
export function writeChangeset(
  root: string,
  id: string,
  bumps: Record<string, 'major' | 'minor' | 'patch'>,
  summary: string,
): void {
  const front = Object.entries(bumps).map(([name, type]) => `"${name}": ${type}`);
  writeFileSync(join(root, '.changeset', `${id}.md`), ['---', ...front, '---', '', summary, ''].join('\n'));
}

/** What `changeset version` would do now (`changeset status --output`). */
export async function releasePlan(root: string): Promise<PlannedRelease[]> {
  const out = join(root, '.changeset-status.json');
  await exec('pnpm', ['exec', 'changeset', 'status', `--output=${out}`], { cwd: root });
  const status = JSON.parse(readFileSync(out, 'utf8')) as { releases: PlannedRelease[] };
  return status.releases.filter((r) => r.type !== 'none');
}

/** `pnpm install`, preferring the local store (the source repository was just installed from it). */
export async function install(root: string): Promise<void> {
  await exec('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent'], {
    cwd: root,
  });
}

/**
 * `turbo run build` of `names` (and what they depend on). `cacheDir` may name the source repository's
 * turbo cache: identical inputs then restore identical outputs instead of compiling again.
 */
export async function build(root: string, names: readonly string[], cacheDir?: string): Promise<void> {
  await exec(
    'pnpm',
    [
      'exec',
      'turbo',
      'run',
      'build',
      ...names.map((n) => `--filter=${n}`),
      '--output-logs=errors-only',
      ...(cacheDir !== undefined ? [`--cache-dir=${cacheDir}`] : []),
    ],
    { cwd: root, env: { TURBO_TELEMETRY_DISABLED: '1' }, timeoutMs: 300_000 },
  );
}

/** `changeset version`: consumes the pending changesets, bumps versions, writes CHANGELOGs. */
export async function version(root: string): Promise<void> {
  await exec('pnpm', ['exec', 'changeset', 'version'], { cwd: root });
}

/** `changeset publish --no-git-tag`: publishes every public package whose version is not yet on the registry. */
export async function publish(root: string, registryUrl: string): Promise<string> {
  const { stdout, stderr } = await exec('pnpm', ['exec', 'changeset', 'publish', '--no-git-tag'], {
    cwd: root,
    timeoutMs: 300_000,
    env: { 'npm_config_@flotilla:registry': registryUrl },
  });
  return `${stdout}\n${stderr}`;
}
