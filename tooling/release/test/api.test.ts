// API reports and doc checks: on a small package made here (a report is written, then an API change,
// an undocumented export and a broken {@link} are each caught), and on the repository itself.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkApi, type EntryPoint, entryPoints } from '../src/api.ts';
import { exec } from '../src/exec.ts';

const ROOT = join(import.meta.dirname, '../../..');
const fixture = join(import.meta.dirname, '../.fixtures/api-pkg');
const work = join(import.meta.dirname, '../.fixtures/api-work');

const DOCUMENTED = `/**
 * A tiny package.
 * @packageDocumentation
 */
/** Adds two numbers; see {@link sub}. */
export declare function add(a: number, b: number): number;
/** Subtracts. */
export declare function sub(a: number, b: number): number;
`;

function writeFixture(dts: string): EntryPoint {
  rmSync(join(fixture, 'dist'), { recursive: true, force: true });
  mkdirSync(join(fixture, 'dist'), { recursive: true });
  writeFileSync(
    join(fixture, 'package.json'),
    JSON.stringify({ name: '@flotilla/fixture', version: '1.0.0', types: './dist/index.d.ts' }),
  );
  writeFileSync(join(fixture, 'dist/index.d.ts'), dts);
  return {
    id: '@flotilla/fixture',
    packageName: '@flotilla/fixture',
    packageDir: fixture,
    subpath: '.',
    dts: join(fixture, 'dist/index.d.ts'),
    reportName: 'fixture',
  };
}

describe('API reports and doc checks', () => {
  it('writes a report, then flags an API change, an undocumented export and a broken link', () => {
    rmSync(join(fixture, 'etc'), { recursive: true, force: true });
    let entry = writeFixture(DOCUMENTED);
    const first = checkApi(entry, { update: true, workDir: work });
    expect(first.errors).toEqual([]);
    const report = readFileSync(join(fixture, 'etc/fixture.api.md'), 'utf8');
    expect(report).toContain('export function add(a: number, b: number): number;');
    expect(checkApi(entry, { update: false, workDir: work })).toMatchObject({
      reportChanged: false,
      undocumented: [],
      unresolvedLinks: [],
    });

    entry = writeFixture(`${DOCUMENTED}export declare function mul(a: number, b: number): number;\n`);
    const changed = checkApi(entry, { update: false, workDir: work });
    expect(changed.reportChanged).toBe(true);
    expect(changed.undocumented).toEqual(['@flotilla/fixture: mul (dist/index.d.ts)']);
    // the report on disk is untouched until a maintainer accepts the change
    expect(readFileSync(join(fixture, 'etc/fixture.api.md'), 'utf8')).toBe(report);

    entry = writeFixture(DOCUMENTED.replace('{@link sub}', '{@link div}'));
    const broken = checkApi(entry, { update: false, workDir: work });
    expect(broken.unresolvedLinks).toHaveLength(1);
    expect(broken.unresolvedLinks[0]).toContain('does not have an export "div"');
  }, 60_000);

  it('every published entry point has a report, ./testing included', () => {
    const ids = entryPoints(ROOT).map((e) => e.id);
    expect(ids).toContain('@flotilla/raft');
    expect(ids).toContain('@flotilla/replication/testing');
    for (const e of entryPoints(ROOT))
      expect(readFileSync(join(e.packageDir, 'etc', `${e.reportName}.api.md`), 'utf8')).toContain(
        `"${e.packageName}"`,
      );
  });

  it('the repository: reports up to date, doc gaps only those listed in api/known-doc-gaps.txt', async () => {
    // the check reads the built declarations (a cached no-op after `pnpm build`)
    await exec(
      'pnpm',
      ['exec', 'turbo', 'run', 'build', '--filter=./packages/*', '--output-logs=errors-only'],
      {
        cwd: ROOT,
        timeoutMs: 300_000,
      },
    );
    const out = await exec(process.execPath, ['--import', 'tsx', 'src/api-cli.ts'], {
      cwd: join(import.meta.dirname, '..'),
      timeoutMs: 300_000,
    }).then(
      (r) => r.stdout,
      (err: { output: string }) => err.output,
    );
    expect(out).not.toContain('FAIL ');
    expect(out).toMatch(/@flotilla\/raft\s+report up to date/);
  }, 300_000);
});
