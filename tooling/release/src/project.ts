// A user's project: an empty directory, the `@flotilla` scope routed to the local registry, and an
// `npm install` of what a user would pick.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { exec } from './exec.ts';
import { type LocalRegistry, scopeNpmrc } from './registry.ts';

/** One installed package, as the project's lock file records it. */
export interface InstalledPackage {
  version: string;
  resolved: string;
}

/** Creates `dir` as an empty ESM project and `npm install`s `specs` (e.g. `@flotilla/raft`). */
export async function createProject(
  dir: string,
  registry: LocalRegistry,
  specs: readonly string[],
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: basename(dir), private: true, type: 'module' })}\n`,
  );
  writeFileSync(join(dir, '.npmrc'), scopeNpmrc(registry, { auth: false }));
  await exec('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...specs], {
    cwd: dir,
    timeoutMs: 180_000,
  });
}

/** Every `@flotilla/*` package installed in the project (lock file path → version and tarball URL). */
export function installedFlotilla(dir: string): Map<string, InstalledPackage> {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; resolved?: string }>;
  };
  const out = new Map<string, InstalledPackage>();
  for (const [path, info] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf('node_modules/@flotilla/');
    if (at < 0) continue;
    out.set(path, { version: info.version ?? '', resolved: info.resolved ?? '' });
  }
  return out;
}

/** Copies a script of `fixtures/` into the project (so its imports resolve from the project). */
export function addScript(dir: string, fixture: string): string {
  const to = join(dir, fixture);
  copyFileSync(join(import.meta.dirname, '..', 'fixtures', fixture), to);
  return to;
}

/** Runs `node script` in the project and returns its output. */
export async function runScript(dir: string, script: string, timeoutMs = 60_000): Promise<string> {
  return (await exec(process.execPath, [script], { cwd: dir, timeoutMs, env: { NODE_OPTIONS: '' } })).stdout;
}
