// The release flow of RELEASING.md, end to end, in a temporary copy of the repository: version,
// publish to a local registry, install as a user would, run clusters; then a patch release and a
// rolling upgrade from the first release to the second.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import semver from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode, findLeader, type NodeStatus, writeKey } from '../src/cluster.ts';
import { exec, freePort, Timings } from '../src/exec.ts';
import { addScript, createProject, installedFlotilla, runScript } from '../src/project.ts';
import { type LocalRegistry, scopeNpmrc, startRegistry } from '../src/registry.ts';
import {
  build,
  copyRepository,
  install,
  type PlannedRelease,
  publicPackages,
  publish,
  releasePlan,
  version,
  workspacePackages,
  writeChangeset,
} from '../src/workspace.ts';

const ROOT = join(import.meta.dirname, '../../..');
const REHEARSAL = 'Release rehearsal (written by the release-flow test).';
const PATCH = 'Rehearsal patch (written by the release-flow test).';

const tmp = mkdtempSync(join(tmpdir(), 'flotilla-release-'));
const repo = join(tmp, 'repo');
const timings = new Timings();
let registry: LocalRegistry | undefined;
const running: ClusterNode[] = [];
let firstPlan: PlannedRelease[] = [];
/** What the first release published: one line per package (for the release notes). */
const released: string[] = [];

/** The turbo cache of the source repository (a worktree shares its main checkout's), if it has one. */
async function turboCacheDir(): Promise<string | undefined> {
  const { stdout } = await exec('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
    cwd: ROOT,
  });
  const dir = join(dirname(stdout.trim()), '.turbo', 'cache');
  return existsSync(dir) ? dir : undefined;
}

/** The manifest of `name@version` as the local registry serves it. */
type Manifest = { dependencies?: Record<string, string>; dist: { tarball: string } };

async function manifest(name: string, ver: string): Promise<Manifest> {
  const res = await fetch(`${registry?.url}${name.replace('/', '%2f')}`);
  const doc = (await res.json()) as { versions: Record<string, Manifest> };
  const m = doc.versions[ver];
  if (m === undefined)
    throw new Error(`${name}@${ver} is not on the registry (has ${Object.keys(doc.versions)})`);
  return m;
}

beforeAll(async () => {
  mkdirSync(repo);
  const files = await copyRepository(ROOT, repo);
  timings.mark(`copy ${files} files (git ls-files) + git init`);
  await install(repo);
  timings.mark('pnpm install (copy)');
  registry = await startRegistry(join(tmp, 'registry'));
  appendFileSync(join(repo, '.npmrc'), `\n${scopeNpmrc(registry, { auth: true })}`);
  timings.mark(`start verdaccio ${registry.version}`);
}, 120_000);

afterAll(async () => {
  for (const n of running) n.kill();
  await registry?.stop();
  rmSync(tmp, { recursive: true, force: true });
  process.stdout.write(`\nrelease rehearsal timings:\n${timings.report()}\n`);
  if (released.length > 0)
    process.stdout.write(
      `\nfirst release (package, version, tarball, dependencies):\n${released.join('\n')}\n`,
    );
});

describe('release flow (local registry)', () => {
  it('changeset version bumps every public package and writes its CHANGELOG', async () => {
    expect(registry?.version).toBe('6.8.0');
    const pkgs = publicPackages(repo);
    expect(pkgs.length).toBeGreaterThan(0);
    // Our own changeset, so there is something to version even right after a real release.
    writeChangeset(
      repo,
      'zz-release-rehearsal',
      Object.fromEntries(pkgs.map((p) => [p.name, 'minor'])),
      REHEARSAL,
    );
    firstPlan = await releasePlan(repo);
    expect(firstPlan.map((r) => r.name).sort()).toEqual(pkgs.map((p) => p.name).sort());
    await version(repo);
    timings.mark('changeset version (round 1)');

    const after = new Map(workspacePackages(repo).map((p) => [p.name, p]));
    for (const r of firstPlan) {
      const pkg = after.get(r.name);
      expect(pkg?.version, r.name).toBe(r.newVersion);
      expect(semver.gt(r.newVersion, r.oldVersion), r.name).toBe(true);
      const changelog = readFileSync(join(pkg?.dir ?? '', 'CHANGELOG.md'), 'utf8');
      expect(changelog.startsWith(`# ${r.name}\n\n## ${r.newVersion}\n`), r.name).toBe(true);
      expect(changelog).toContain(`- ${REHEARSAL}`);
      // internal dependencies stay workspace ranges; `pnpm publish` writes the released version
      for (const [dep, range] of Object.entries(pkg?.dependencies ?? {}))
        if (dep.startsWith('@flotilla/')) expect(range, `${r.name} -> ${dep}`).toMatch(/^workspace:/);
    }
    // every changeset naming a public package was consumed (private packages are not versioned)
    const left = readdirSync(join(repo, '.changeset'))
      .filter((f) => f.endsWith('.md') && f !== 'README.md')
      .filter((f) =>
        pkgs.some((p) => readFileSync(join(repo, '.changeset', f), 'utf8').includes(`"${p.name}"`)),
      );
    expect(left).toEqual([]);
  }, 60_000);

  it('changeset publish puts every public package on the registry with released dependency ranges', async () => {
    await build(
      repo,
      publicPackages(repo).map((p) => p.name),
      await turboCacheDir(),
    );
    timings.mark('turbo build (round 1, cache shared)');
    const out = await publish(repo, registry?.url ?? '');
    timings.mark('changeset publish (round 1)');
    const versions = new Map(firstPlan.map((r) => [r.name, r.newVersion]));
    for (const [name, ver] of versions) {
      expect(out).toContain(`${name}@${ver}`);
      const m = await manifest(name, ver);
      for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
        if (!dep.startsWith('@flotilla/')) continue;
        expect(range, `${name} -> ${dep}`).toBe(`^${versions.get(dep)}`);
      }
      const tarball = await fetch(m.dist.tarball).then((r) => r.arrayBuffer());
      const deps = Object.entries(m.dependencies ?? {}).map(([d, r]) => `${d}@${r}`);
      released.push(
        `${name.padEnd(24)} ${ver.padEnd(7)} ${`${(tarball.byteLength / 1024).toFixed(1)} kB`.padStart(9)}  ${deps.join(', ') || '(none)'}`,
      );
    }
    released.sort();
  }, 180_000);

  it('a user installs raft + transport-tcp + storage-file from the registry and runs a 3-node TCP cluster', async () => {
    const project = join(tmp, 'user-tcp-v1');
    await createProject(project, registry as LocalRegistry, [
      '@flotilla/raft',
      '@flotilla/transport-tcp',
      '@flotilla/storage-file',
    ]);
    timings.mark('npm install raft+tcp+file (v1)');
    const versions = new Map(firstPlan.map((r) => [r.name, r.newVersion]));
    const installed = installedFlotilla(project);
    // exactly the @flotilla packages the three depend on, transitively, one copy each
    expect([...installed.keys()].sort()).toEqual(
      closure(['@flotilla/raft', '@flotilla/transport-tcp', '@flotilla/storage-file']).map(
        (n) => `node_modules/${n}`,
      ),
    );
    for (const [path, info] of installed) {
      const name = path.slice('node_modules/'.length);
      expect(info.version, name).toBe(versions.get(name));
      expect(info.resolved.startsWith(registry?.url ?? '-'), `${name} from ${info.resolved}`).toBe(true);
    }
    const script = addScript(project, 'tcp-node.mjs');
    const nodes = await startCluster(project, script, ['n1', 'n2', 'n3']);
    await nodes[0]?.call('init', {
      nodes: Object.fromEntries(nodes.map((n) => [n.id, { addr: `127.0.0.1:${n.port}` }])),
    });
    await writeKey(nodes, 'greeting', 'hello');
    const leader = await findLeader(nodes);
    expect(await leader.call('read', { key: 'greeting' })).toBe('hello');
    await Promise.all(nodes.map((n) => n.stop()));
    running.length = 0;
    timings.mark('3-node TCP cluster writes and reads (v1)');
  }, 120_000);

  it('a user installs raft + memory from the registry and runs a 3-node in-memory cluster', async () => {
    const project = join(tmp, 'user-memory-v1');
    await createProject(project, registry as LocalRegistry, ['@flotilla/raft', '@flotilla/memory']);
    const installed = installedFlotilla(project);
    expect(installed.has('node_modules/@flotilla/memory')).toBe(true);
    expect(installed.has('node_modules/@flotilla/transport-tcp')).toBe(false);
    for (const [, info] of installed) expect(info.resolved.startsWith(registry?.url ?? '-')).toBe(true);
    const out = await runScript(project, addScript(project, 'memory-cluster.mjs'));
    expect(JSON.parse(out)).toEqual({ responses: [null, 7], read: 8, everywhere: [8, 8, 8] });
    timings.mark('npm install raft+memory + in-memory cluster (v1)');
  }, 120_000);

  it('a patch to @flotilla/types releases it alone; dependants keep ranges that admit it', async () => {
    const config = JSON.parse(readFileSync(join(repo, '.changeset/config.json'), 'utf8')) as {
      updateInternalDependencies: 'patch' | 'minor';
    };
    const before = new Map(workspacePackages(repo).map((p) => [p.name, p]));
    writeChangeset(repo, 'zz-rehearsal-patch', { '@flotilla/types': 'patch' }, PATCH);
    const plan = await releasePlan(repo);
    const typesOld = before.get('@flotilla/types')?.version ?? '';
    const typesNew = semver.inc(typesOld, 'patch') ?? '';
    // A dependant is bumped only when the new version leaves its range (`^0.x.y` admits patches), and
    // `updateInternalDependencies` rewrites ranges only of packages released anyway: with 'patch' or
    // 'minor' alike, a lone patch releases the patched package only.
    expect(['patch', 'minor']).toContain(config.updateInternalDependencies);
    expect(plan).toEqual([
      {
        name: '@flotilla/types',
        type: 'patch',
        oldVersion: typesOld,
        newVersion: typesNew,
        changesets: ['zz-rehearsal-patch'],
      },
    ]);
    await version(repo);
    const after = new Map(workspacePackages(repo).map((p) => [p.name, p]));
    for (const [name, p] of after) {
      if (name === '@flotilla/types') expect(p.version).toBe(typesNew);
      else expect(p.version, name).toBe(before.get(name)?.version);
    }
    expect(readFileSync(join(repo, 'packages/types/CHANGELOG.md'), 'utf8')).toContain(
      `## ${typesNew}\n\n### Patch Changes\n\n- `,
    );
    await build(repo, ['@flotilla/types'], await turboCacheDir());
    const out = await publish(repo, registry?.url ?? '');
    expect(out).toContain(`@flotilla/types@${typesNew}`);
    expect(out).not.toContain('@flotilla/raft@');
    // every published dependant's range admits the patch, so a fresh install picks it up
    for (const [name, p] of after) {
      const range = (await manifest(name, p.version)).dependencies?.['@flotilla/types'];
      if (range !== undefined) expect(semver.satisfies(typesNew, range), `${name}: ${range}`).toBe(true);
    }
    timings.mark('round 2: patch changeset, version, publish');
  }, 120_000);

  it('rolling upgrade: a 3-node cluster on the first release keeps serving while each node moves to the second', async () => {
    const v1 = join(tmp, 'user-tcp-v1');
    const v2 = join(tmp, 'user-tcp-v2');
    await createProject(v2, registry as LocalRegistry, [
      '@flotilla/raft',
      '@flotilla/transport-tcp',
      '@flotilla/storage-file',
    ]);
    const typesNew = workspacePackages(repo).find((p) => p.name === '@flotilla/types')?.version;
    const installed = installedFlotilla(v2);
    expect(installed.get('node_modules/@flotilla/types')?.version).toBe(typesNew);
    expect([...installed.keys()].filter((k) => k.endsWith('/@flotilla/types'))).toHaveLength(1);
    timings.mark('npm install raft+tcp+file (v2)');

    const script1 = join(v1, 'tcp-node.mjs');
    const script2 = addScript(v2, 'tcp-node.mjs');
    rmSync(join(tmp, 'data'), { recursive: true, force: true });
    const nodes = await startCluster(v1, script1, ['n1', 'n2', 'n3']);
    await nodes[0]?.call('init', {
      nodes: Object.fromEntries(nodes.map((n) => [n.id, { addr: `127.0.0.1:${n.port}` }])),
    });
    const written = new Map<string, number>();
    let next = 0;
    const write = async (live: ClusterNode[]) => {
      const key = `k${next++}`;
      await writeKey(live, key, next);
      written.set(key, next);
    };
    for (let i = 0; i < 3; i++) await write(nodes);

    // Followers first, the leader last (it hands leadership over before it stops).
    const leaderId = (await findLeader(nodes)).id;
    const order = [...nodes.filter((n) => n.id !== leaderId), ...nodes.filter((n) => n.id === leaderId)];
    for (const old of order) {
      const others = nodes.filter((n) => n !== old);
      if (old.id === (await findLeader(nodes)).id) {
        await old.call('transferLeader', { to: others[0]?.id });
        await findLeader(others, 15_000);
      }
      await old.stop();
      running.splice(running.indexOf(old), 1);
      // two of three keep serving while the node is down
      await write(others);
      const fresh = await ClusterNode.start(v2, script2, old.id, old.port, old.dataDir);
      running.push(fresh);
      nodes[nodes.indexOf(old)] = fresh;
      const versions = await fresh.call<Record<string, string>>('versions');
      expect(versions.types).toBe(typesNew);
      await write(nodes);
      const status = await Promise.all(nodes.map((n) => n.call<NodeStatus>('metrics')));
      const applied = Math.max(...status.map((s) => s.lastApplied));
      await fresh.call('waitApplied', { index: applied });
      timings.mark(`rolling upgrade: ${old.id} replaced`);
    }
    const leader = await findLeader(nodes);
    for (const [key, value] of written) expect(await leader.call('read', { key }), key).toBe(value);
    const last = (await leader.call<NodeStatus>('metrics')).lastApplied;
    for (const n of nodes) {
      await n.call('waitApplied', { index: last });
      expect(await n.call('local'), n.id).toEqual(Object.fromEntries(written));
    }
    await Promise.all(nodes.map((n) => n.stop()));
    running.length = 0;
    timings.mark('rolling upgrade: every write readable on every node');
  }, 180_000);
});

/** `names` and every `@flotilla` package they depend on, transitively, sorted. */
function closure(names: string[]): string[] {
  const pkgs = new Map(workspacePackages(repo).map((p) => [p.name, p]));
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const d of Object.keys(pkgs.get(n)?.dependencies ?? {})) if (d.startsWith('@flotilla/')) visit(d);
  };
  for (const n of names) visit(n);
  return [...seen].sort();
}

/** Starts nodes `ids` of `script` in `project`, each on a free port with its log under tmp/data. */
async function startCluster(project: string, script: string, ids: string[]): Promise<ClusterNode[]> {
  const nodes: ClusterNode[] = [];
  for (const id of ids) {
    const dataDir = join(tmp, 'data', id);
    mkdirSync(dataDir, { recursive: true });
    const node = await ClusterNode.start(project, script, id, await freePort(), dataDir);
    running.push(node);
    nodes.push(node);
  }
  return nodes;
}
