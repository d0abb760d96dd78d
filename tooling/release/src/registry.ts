// A throwaway npm registry (verdaccio, pinned in this package) for the release rehearsal: no uplink,
// storage in a temp directory, one user whose token publishes. Only the `@flotilla` scope is ever
// routed to it (see `scopeNpmrc`), so everything else still comes from the usual registry.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort } from './exec.ts';

/** A running local registry. */
export interface LocalRegistry {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** A token that may publish. */
  token: string;
  /** The verdaccio version that serves it. */
  version: string;
  /** Stops the server (and waits for the process to exit). */
  stop(): Promise<void>;
}

/** The `.npmrc` lines that route the `@flotilla` scope (and only it) to `registry`. */
export function scopeNpmrc(registry: LocalRegistry, { auth }: { auth: boolean }): string {
  const host = registry.url.replace(/^http:/, '');
  return [
    `@flotilla:registry=${registry.url}`,
    ...(auth ? [`${host}:_authToken=${registry.token}`] : []),
    // the lock file records where each package came from, so a test can check it
    'omit-lockfile-registry-resolved=false',
    '',
  ].join('\n');
}

/** Starts verdaccio with its storage under `dir`; resolves once it answers and a user exists. */
export async function startRegistry(dir: string): Promise<LocalRegistry> {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('verdaccio/package.json');
  const pkg = require(pkgPath) as { version: string; bin: Record<string, string> | string };
  const bin = join(pkgPath, '..', typeof pkg.bin === 'string' ? pkg.bin : (pkg.bin.verdaccio ?? ''));
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      `storage: ${join(dir, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${join(dir, 'htpasswd')}`,
      '    max_users: 10',
      'uplinks: {}',
      'packages:',
      "  '@flotilla/*':",
      '    access: $all',
      '    publish: $authenticated',
      '    unpublish: $authenticated',
      "  '**':",
      '    access: $all',
      'log: { type: stdout, format: pretty, level: error }',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, '--config', config, '--listen', `127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`verdaccio exited:\n${output}`);
      try {
        const res = await fetch(`${url}-/ping`);
        if (res.ok) break;
      } catch {}
      if (Date.now() > deadline) throw new Error(`verdaccio did not answer within 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await fetch(`${url}-/user/org.couchdb.user:release`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'release', password: 'rehearsal-only-password' }),
    });
    const body = (await res.json()) as { token?: string };
    if (!res.ok || body.token === undefined)
      throw new Error(`creating the registry user failed: ${JSON.stringify(body)}`);
    return { url, token: body.token, version: pkg.version, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
