/**
 * Owns planting bugs from the test side: a bug is a list of source patches, applied to a private copy
 * of the workspace packages' sources at load time, so no published file carries a switch that could
 * disable a safety rule. It must never write into the repository's own `packages/` tree.
 *
 * A copy lives in a temporary directory: each package's `package.json` and `src/` (tests left out),
 * with a `node_modules` whose `@flotilla/*` entries point at the sibling copies and every other
 * entry at the dependency the original package resolves. Importing a copied package's entry (through
 * the same `@flotilla/source` condition the tests use) therefore loads patched code everywhere the
 * patch reaches: a patched `@flotilla/engine` is what the copied `@flotilla/raft` runs.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The repository root (this file is `tests/src/planted/patch.ts`). */
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** One textual change to one source file. */
export interface SourcePatch {
  /** The file, relative to the repository root (e.g. `packages/engine/src/handlers/vote.ts`). */
  readonly file: string;
  /** Text that must occur exactly once in the file. */
  readonly find: string;
  /** What replaces it. */
  readonly replace: string;
}

/** A deliberately broken rule, planted by patching sources. */
export interface PlantedBug {
  /** A stable name (used by `pnpm sim --bug NAME`). */
  readonly name: string;
  /** What the bug breaks, for people reading a report. */
  readonly description: string;
  /** The patches that plant it; every one must apply. */
  readonly patches: readonly SourcePatch[];
}

/** A patch no longer matches the source it targets (the code moved on): the test that planted it fails. */
export class PatchDidNotApplyError extends Error {
  readonly code = 'PATCH_DID_NOT_APPLY';
  constructor(bug: string, patch: SourcePatch, occurrences: number) {
    super(
      `planted bug '${bug}': the text to replace occurs ${occurrences} times in ${patch.file} ` +
        `(it must occur exactly once):\n${patch.find}`,
    );
    this.name = 'PatchDidNotApplyError';
  }
}

function occurrences(haystack: string, needle: string): number {
  if (needle === '') return Number.POSITIVE_INFINITY;
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Applies `bug`'s patches to file texts read through `read`; throws {@link PatchDidNotApplyError}. */
export function applyPatches(bug: PlantedBug, read: (file: string) => string): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of bug.patches) {
    const text = out.get(p.file) ?? read(p.file);
    const n = occurrences(text, p.find);
    if (n !== 1) throw new PatchDidNotApplyError(bug.name, p, n);
    out.set(
      p.file,
      text.replace(p.find, () => p.replace),
    );
  }
  return out;
}

const SKIPPED_MODULES = new Set(['.bin', '.vite', '.vite-temp', '.cache']);

function linkDependencies(original: string, copy: string, copiedPackages: Map<string, string>): void {
  const from = join(original, 'node_modules');
  if (!existsSync(from)) return;
  const to = join(copy, 'node_modules');
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (SKIPPED_MODULES.has(name)) continue;
    if (name === '@flotilla') {
      mkdirSync(join(to, name));
      for (const dep of readdirSync(join(from, name))) {
        const target = copiedPackages.get(`@flotilla/${dep}`) ?? realpathSync(join(from, name, dep));
        symlinkSync(target, join(to, name, dep), 'dir');
      }
    } else {
      symlinkSync(realpathSync(join(from, name)), join(to, name), 'dir');
    }
  }
}

const copies = new Map<string, string>();
let cleanupRegistered = false;

/**
 * A temporary copy of every workspace package under `packages/` with `bug` planted; returns the copy's
 * root (it holds `packages/<folder>`). Copies are made once per process and bug, and removed at exit.
 */
export function plantedTree(bug: PlantedBug): string {
  const key = `${bug.name}:${createHash('sha256').update(JSON.stringify(bug.patches)).digest('hex')}`;
  const cached = copies.get(key);
  if (cached !== undefined) return cached;
  const patched = applyPatches(bug, (file) => readFileSync(join(REPO_ROOT, file), 'utf8'));
  const root = mkdtempSync(join(tmpdir(), `flotilla-planted-${bug.name}-`));
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => {
      for (const dir of copies.values()) rmSync(dir, { recursive: true, force: true });
    });
  }
  copies.set(key, root);
  const folders = readdirSync(join(REPO_ROOT, 'packages')).filter((f) =>
    existsSync(join(REPO_ROOT, 'packages', f, 'package.json')),
  );
  const copied = new Map<string, string>();
  for (const f of folders) {
    const name = (
      JSON.parse(readFileSync(join(REPO_ROOT, 'packages', f, 'package.json'), 'utf8')) as { name: string }
    ).name;
    copied.set(name, join(root, 'packages', f));
  }
  for (const f of folders) {
    const src = join(REPO_ROOT, 'packages', f);
    const dst = join(root, 'packages', f);
    mkdirSync(dst, { recursive: true });
    cpSync(join(src, 'package.json'), join(dst, 'package.json'));
    cpSync(join(src, 'src'), join(dst, 'src'), {
      recursive: true,
      filter: (p) => !/\.test\.ts$/.test(p),
    });
    linkDependencies(src, dst, copied);
  }
  for (const [file, text] of patched) {
    const target = join(root, file);
    if (!existsSync(target)) throw new Error(`planted bug '${bug.name}': ${file} is not a package source`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  return root;
}

/**
 * Imports the entry of workspace package `folder` (e.g. `'engine'`, `'raft'`) with `bug` planted,
 * or the unpatched package when `bug` is null. `T` is the package's module type, e.g.
 * `typeof import('@flotilla/engine')`.
 */
export async function importPlanted<T>(bug: PlantedBug | null, folder: string): Promise<T> {
  const base = bug === null ? REPO_ROOT : plantedTree(bug);
  const entry = join(base, 'packages', folder, 'src', 'index.ts');
  if (!existsSync(entry)) throw new Error(`no package entry at ${relative(REPO_ROOT, entry)}`);
  return (await import(pathToFileURL(entry).href)) as T;
}
