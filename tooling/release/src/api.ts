// API reports and doc-comment checks with API Extractor: one run per entry point of every published
// package (its `exports` map, `./testing` included), reading the built `.d.ts`. A run compares the
// public surface with the reviewed report `packages/<p>/etc/<name>.api.md`, lists exports without a
// doc comment and `{@link}`s that do not resolve, and writes a doc model for API Documenter.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Extractor,
  ExtractorConfig,
  ExtractorLogLevel,
  type ExtractorMessage,
  type IConfigFile,
} from '@microsoft/api-extractor';
import { exec } from './exec.ts';
import { workspacePackages } from './workspace.ts';

/** One entry point of a published package. */
export interface EntryPoint {
  /** `@flotilla/replication/testing` */
  id: string;
  packageName: string;
  packageDir: string;
  /** `.` or `./testing` */
  subpath: string;
  /** The built declaration file the `types` condition names. */
  dts: string;
  /** Report base name: `replication` or `replication-testing`. */
  reportName: string;
}

/** What API Extractor found for one entry point. */
export interface ApiCheck {
  entry: EntryPoint;
  /** The public surface differs from the checked-in report (or there is none). */
  reportChanged: boolean;
  /** Where the report is (or would be). */
  reportPath: string;
  /** `@flotilla/x: Name` for each public declaration (or member) without a doc comment. */
  undocumented: string[];
  /** `{@link}`s that resolve to nothing, with where they are. */
  unresolvedLinks: string[];
  /** Any other error (a broken build, a compiler error). */
  errors: string[];
}

type ExportsMap = Record<string, string | Record<string, string>>;

/** Every entry point of every published package under `root/packages`, in a stable order. */
export function entryPoints(root: string): EntryPoint[] {
  const out: EntryPoint[] = [];
  for (const pkg of workspacePackages(root)) {
    if (pkg.private) continue;
    const manifest = JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8')) as {
      exports?: ExportsMap;
    };
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      if (typeof target === 'string' || target.types === undefined) continue;
      const short = pkg.name.replace(/^@flotilla\//, '');
      const suffix = subpath === '.' ? '' : subpath.replace(/^\.\//, '').replace(/\//g, '-');
      out.push({
        id: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
        packageName: pkg.name,
        packageDir: pkg.dir,
        subpath,
        dts: join(pkg.dir, target.types),
        reportName: suffix === '' ? short : `${short}-${suffix}`,
      });
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Options of {@link checkApi}. */
export interface CheckApiOptions {
  /** Write the report file when it changed (a maintainer accepting an API change). */
  update: boolean;
  /** Where API Extractor writes temporary reports and the doc models (`<reportName>.api.json`). */
  workDir: string;
}

/** Runs API Extractor on one entry point. */
export function checkApi(entry: EntryPoint, opts: CheckApiOptions): ApiCheck {
  const reportFolder = join(entry.packageDir, 'etc');
  const temp = join(opts.workDir, 'temp');
  const models = join(opts.workDir, 'models');
  for (const d of [reportFolder, temp, models]) mkdirSync(d, { recursive: true });
  const configObject: IConfigFile = {
    projectFolder: entry.packageDir,
    mainEntryPointFilePath: entry.dts,
    newlineKind: 'lf',
    compiler: {
      overrideTsconfig: {
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          lib: ['es2023'],
          strict: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: [entry.dts],
      },
    },
    apiReport: {
      enabled: true,
      reportFileName: entry.reportName,
      reportFolder,
      reportTempFolder: temp,
      includeForgottenExports: false,
    },
    docModel: { enabled: true, apiJsonFilePath: join(models, `${entry.reportName}.api.json`) },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Error } },
      extractorMessageReporting: {
        default: { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: true },
        // no release tags (@public/@beta): every export of an entry point is public
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
        'ae-undocumented': { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: false },
        'ae-unresolved-link': { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: false },
      },
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: true } },
    },
  };
  const config = ExtractorConfig.prepare({
    configObject,
    configObjectFullPath: join(entry.packageDir, 'api-extractor.json'),
    packageJsonFullPath: join(entry.packageDir, 'package.json'),
  });
  const result: ApiCheck = {
    entry,
    reportChanged: false,
    reportPath: join(reportFolder, `${entry.reportName}.api.md`),
    undocumented: [],
    unresolvedLinks: [],
    errors: [],
  };
  if (!existsSync(entry.dts)) {
    result.errors.push(`${entry.dts} is missing: build the package first (pnpm build)`);
    return result;
  }
  const where = (m: ExtractorMessage) =>
    m.sourceFilePath !== undefined
      ? ` (${m.sourceFilePath.replace(`${entry.packageDir}/`, '')}:${m.sourceFileLine})`
      : '';
  const extracted = Extractor.invoke(config, {
    localBuild: opts.update,
    showVerboseMessages: false,
    messageCallback: (m) => {
      m.handled = true;
      if (m.messageId === 'ae-undocumented') {
        const name = /"(.+)"/.exec(m.text)?.[1] ?? m.text;
        const file = m.sourceFilePath?.replace(`${entry.packageDir}/`, '');
        result.undocumented.push(`${entry.id}: ${name}${file !== undefined ? ` (${file})` : ''}`);
      } else if (m.messageId === 'ae-unresolved-link') {
        const file = m.sourceFilePath?.replace(`${entry.packageDir}/`, '') ?? '';
        const what = m.text.replace(/^The @link reference could not be resolved: /, '');
        result.unresolvedLinks.push(`${entry.id} (${file}): ${what}`);
      } else if (m.logLevel === ExtractorLogLevel.Error)
        result.errors.push(`${entry.id}${where(m)}: ${m.text}`);
    },
  });
  result.reportChanged = extracted.apiReportChanged && !opts.update;
  result.undocumented = [...new Set(result.undocumented)].sort();
  result.unresolvedLinks = [...new Set(result.unresolvedLinks)].sort();
  return result;
}

/** Reads a list file (one item a line, `#` comments). */
export function readList(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Writes a list file with a header comment. */
export function writeList(path: string, header: string, items: readonly string[]): void {
  writeFileSync(
    path,
    `${header
      .split('\n')
      .map((l) => `# ${l}`)
      .join('\n')}\n${items.join('\n')}\n`,
  );
}

/**
 * Turns the doc models of `modelsDir` into markdown pages under `outDir` with API Documenter, and
 * returns the references it could not resolve (they render as empty text: broken links).
 */
export async function apiMarkdown(modelsDir: string, outDir: string): Promise<string[]> {
  // A subpath entry point is its own doc model; API Documenter wants a package name, so
  // `@flotilla/x/testing` is named `@flotilla/x-testing` there and renamed back in the pages.
  const renamed = new Map<string, string>();
  for (const f of readdirSync(modelsDir)) {
    const model = JSON.parse(readFileSync(join(modelsDir, f), 'utf8')) as { name: string };
    const sub = /^(.+)-([a-z]+)\.api\.json$/.exec(f);
    const pkgShort = model.name.replace(/^@flotilla\//, '');
    if (sub !== null && sub[1] === pkgShort) {
      const fake = `${model.name}-${sub[2]}`;
      renamed.set(fake, `${model.name}/${sub[2]}`);
      writeFileSync(
        join(modelsDir, f),
        readFileSync(join(modelsDir, f), 'utf8').replaceAll(`"${model.name}`, `"${fake}`),
      );
    }
  }
  // pages of a previous run go (an API that disappeared leaves no page behind); nothing else does
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (f.endsWith('.md')) rmSync(join(outDir, f));
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('@microsoft/api-documenter/package.json');
  const pkg = require(pkgPath) as { bin: Record<string, string> };
  const bin = join(dirname(pkgPath), pkg.bin['api-documenter'] ?? '');
  // API Documenter empties its output folder: it writes beside the models, the pages are copied
  const pages = join(modelsDir, '..', 'pages');
  const { stdout, stderr } = await exec(process.execPath, [bin, 'markdown', '-i', modelsDir, '-o', pages], {
    cwd: modelsDir,
    env: { FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  for (const f of readdirSync(pages)) {
    let text = readFileSync(join(pages, f), 'utf8');
    for (const [fake, real] of renamed) text = text.replaceAll(fake, real);
    writeFileSync(join(outDir, f), text);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colours
  const plain = `${stdout}\n${stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  return [...new Set(plain.split('\n').filter((l) => l.startsWith('WARNING: Unable to resolve reference')))]
    .map((l) => l.replace(/^WARNING: /, ''))
    .sort();
}
