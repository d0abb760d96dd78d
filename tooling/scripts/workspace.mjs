// Shared by the README's two commands (check-all.mjs and demo.mjs): prepares a fresh machine
// (Debian 12 as root, Node 20 + npm) to run the workspace.
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const PNPM_VERSION = '12.21.0';

/** Runs a command in the repository root, streaming its output; returns whether it succeeded. */
export function run(cmd, args, opts = {}) {
  process.stdout.write(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...(opts.env ?? {}) },
  });
  return r.status === 0;
}

/** The Debian packages of `pkgs` that are not installed. */
export function aptMissing(pkgs) {
  return pkgs.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
}

/** Installs missing Debian packages (as root); returns whether that worked. */
export function aptInstall(pkgs) {
  const missing = aptMissing(pkgs);
  if (missing.length === 0) return true;
  run('apt-get', ['update', '-qq']);
  return run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** Installs the pinned pnpm with npm when it is missing (corepack cannot reach this registry). */
export function ensurePnpm() {
  let current = '';
  try {
    current = execFileSync('pnpm', ['--version'], { encoding: 'utf8' }).trim();
  } catch {}
  if (current === PNPM_VERSION) return true;
  return run('npm', ['install', '-g', '--no-fund', '--no-audit', `pnpm@${PNPM_VERSION}`]);
}

/** pnpm + `pnpm install --frozen-lockfile`; returns whether the workspace is ready. */
export function ensureWorkspace() {
  return ensurePnpm() && run('pnpm', ['install', '--frozen-lockfile']);
}
