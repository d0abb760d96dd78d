// The ```ts blocks of the repository's markdown (every README.md and docs/**/*.md): extracted, compiled
// together with the strict base tsconfig, and the complete ones run to completion.
//
// An HTML comment right before a block says what it is (invisible once rendered):
//   <!-- example: run -->      a complete program: compiled, then run; it must exit 0 within the timeout
//   <!-- example: compile      a fragment: compiled only (the default for a block without a comment);
//   declare const raft: Raft;  lines after the first are a hidden prelude put before the block
//   -->
// Relative imports (`'./x.ts'`, `'../x.ts'`) resolve from the markdown file's directory, or, with
// `at=PATH` on the marker's first line (`<!-- example: compile at=src/benches/mine.ts`), as if the
// block were the file PATH (relative to the markdown file): a README can show a file of its package.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exec } from './exec.ts';
import { ROOT } from './paths.ts';

/** One ```ts block. */
export interface CodeBlock {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** 1-based index among the file's ts blocks. */
  index: number;
  mode: 'run' | 'compile';
  /** Where the block says it lives (`at=`), relative to the repository root; default: the markdown file's directory. */
  at?: string;
  prelude: string;
  code: string;
}

/** A block that does not compile or does not run. */
export interface ExampleFailure {
  block: CodeBlock;
  kind: 'compile' | 'run';
  /** Stable key: `file #index: compile TS2339` or `file #index: run exit|timeout`. */
  key: string;
  detail: string;
}

const FENCE = /^```(ts|typescript)\s*$/;

/** The ```ts blocks of one markdown text. */
export function extractBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const out: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE.test(lines[i] ?? '')) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
    let mode: CodeBlock['mode'] = 'compile';
    let prelude = '';
    let at: string | undefined;
    // the directive: an HTML comment ending on the line before the fence (blank lines allowed)
    let j = start - 1;
    while (j >= 0 && (lines[j] ?? '').trim() === '') j--;
    if (j >= 0 && (lines[j] ?? '').trim().endsWith('-->')) {
      let k = j;
      while (k >= 0 && !(lines[k] ?? '').includes('<!--')) k--;
      const comment = lines.slice(k, j + 1).join('\n');
      const m = /<!--\s*example:\s*(run|compile)\b([^\n]*)\n?([\s\S]*?)-->/.exec(comment);
      if (m !== null) {
        mode = m[1] as CodeBlock['mode'];
        prelude = (m[3] ?? '').trimEnd();
        const where = /\bat=(\S+)/.exec(m[2] ?? '');
        if (where !== null) at = posix.join(posix.dirname(file), where[1] ?? '');
      }
    }
    const block: CodeBlock = {
      file,
      line: start + 1,
      index: out.length + 1,
      mode,
      prelude,
      code: body.join('\n'),
    };
    out.push(at === undefined ? block : { ...block, at });
  }
  return out;
}

/** The markdown files checked: every README.md git knows of and everything under docs/ (not docs/api). */
export async function markdownFiles(root: string): Promise<string[]> {
  const { stdout } = await exec('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
  });
  return stdout
    .split('\n')
    .filter(
      (f) =>
        f.endsWith('README.md') || (f.startsWith('docs/') && f.endsWith('.md') && !f.startsWith('docs/api/')),
    )
    .filter((f) => !f.startsWith('.changeset/') && existsSync(join(root, f)))
    .sort();
}

/** Options of {@link checkExamples}. */
export interface CheckExamplesOptions {
  /** A directory inside a package that can resolve every `@flotilla/*` package (the blocks go there). */
  workDir: string;
  /** The base tsconfig the blocks compile with. */
  tsconfigBase: string;
  /** Per run, in ms (default 30 s). */
  runTimeoutMs?: number;
  /** Run nothing, compile only. */
  compileOnly?: boolean;
  /** The directory `CodeBlock.file` is relative to (default: this repository's root). */
  root?: string;
}

/** Compiles every block (one `tsc` for all) and runs the complete ones; resolves with the failures. */
export async function checkExamples(
  blocks: readonly CodeBlock[],
  opts: CheckExamplesOptions,
): Promise<ExampleFailure[]> {
  rmSync(opts.workDir, { recursive: true, force: true });
  mkdirSync(opts.workDir, { recursive: true });
  const names = new Map<string, CodeBlock>();
  const preludeLines = new Map<string, number>();
  blocks.forEach((b, n) => {
    const name = `${String(n).padStart(3, '0')}-${b.file.replace(/[^a-z0-9]+/gi, '_')}-${b.index}.ts`;
    names.set(name, b);
    const head = b.prelude === '' ? '' : `${b.prelude}\n`;
    preludeLines.set(name, head === '' ? 0 : head.split('\n').length - 1);
    const from = join(opts.root ?? ROOT, b.at === undefined ? dirname(b.file) : dirname(b.at));
    writeFileSync(
      join(opts.workDir, name),
      rebaseImports(`${head}${b.code}\nexport {};\n`, from, opts.workDir),
    );
  });
  const failures: ExampleFailure[] = [];
  const broken = new Set<string>();
  // tsc skips type checking while any file has a syntax error: compile again without those files
  let files = [...names.keys()];
  for (let pass = 0; pass < 5 && files.length > 0; pass++) {
    writeFileSync(
      join(opts.workDir, 'tsconfig.json'),
      JSON.stringify({
        extends: relative(opts.workDir, opts.tsconfigBase),
        // an example may declare what it does not use (a reader copies it and goes on)
        compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
        files,
      }),
    );
    const tsc = await exec('pnpm', ['exec', 'tsc', '-p', 'tsconfig.json', '--pretty', 'false'], {
      cwd: opts.workDir,
      timeoutMs: 300_000,
    }).catch((err: { output?: string }) => ({ stdout: err.output ?? String(err), stderr: '' }));
    let syntax = false;
    for (const line of tsc.stdout.split('\n')) {
      const m = /^(\S+\.ts)\((\d+),(\d+)\): error TS(\d+): (.*)$/.exec(line.trim());
      if (m === null) continue;
      const name = m[1] ?? '';
      const block = names.get(name);
      if (block === undefined) continue;
      broken.add(name);
      if (Number(m[4]) < 2000) syntax = true;
      const mdLine = block.line + Number(m[2]) - (preludeLines.get(name) ?? 0);
      failures.push({
        block,
        kind: 'compile',
        key: `${block.file} #${block.index}: compile TS${m[4]}`,
        detail: `${block.file}:${mdLine}: TS${m[4]} ${m[5]}`,
      });
    }
    if (!syntax) break;
    files = files.filter((f) => !broken.has(f));
  }
  if (opts.compileOnly) return dedupe(failures);
  for (const [name, block] of names) {
    if (block.mode !== 'run' || broken.has(name)) continue;
    const r = await runBlock(join(opts.workDir, name), opts.runTimeoutMs ?? 30_000);
    if (r.ok) continue;
    failures.push({
      block,
      kind: 'run',
      key: `${block.file} #${block.index}: run ${r.timedOut ? 'timeout' : 'exit'}`,
      detail: `${block.file}:${block.line}: ${r.timedOut ? 'did not exit within the timeout' : `exited ${r.code}`}\n${r.output.slice(-2000)}`,
    });
  }
  return dedupe(failures);
}

/** Rewrites relative import specifiers written for directory `from` so they resolve from `workDir`. */
function rebaseImports(code: string, from: string, workDir: string): string {
  return code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"]*)\2/g,
    (_all, head: string, quote: string, spec: string) => {
      const rel = relative(workDir, join(from, spec)).split(sep).join('/');
      return `${head}${quote}${rel.startsWith('.') ? rel : `./${rel}`}${quote}`;
    },
  );
}

function dedupe(failures: ExampleFailure[]): ExampleFailure[] {
  const seen = new Set<string>();
  return failures.filter((f) => !seen.has(f.key) && seen.add(f.key));
}

/** Runs one example with tsx from the workspace sources, in an empty temp directory. */
function runBlock(
  file: string,
  timeoutMs: number,
): Promise<{ ok: boolean; timedOut: boolean; code: number | null; output: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'flotilla-example-'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@flotilla/source', '--import', tsxLoader(), file], {
      cwd,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(cwd, { recursive: true, force: true });
      resolve({ ok: code === 0 && !timedOut, timedOut, code, output });
    });
  });
}

/** tsx's loader as a file URL (the example runs in a temp directory, where `tsx` alone resolves to nothing). */
function tsxLoader(): string {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  return pathToFileURL(join(dirname(pkg), 'dist/loader.mjs')).href;
}

/** Every block of `files` (paths relative to `root`). */
export function blocksOf(root: string, files: readonly string[]): CodeBlock[] {
  return files.flatMap((f) => extractBlocks(f, readFileSync(join(root, f), 'utf8')));
}
