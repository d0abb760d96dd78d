/**
 * Other processes as benchmark subjects: memory from `/proc/<pid>/status` (CPU time: the runner's
 * `pidsCpuMicros`, or `measure`'s `pids` option), and child
 * processes running TypeScript (through tsx's loader, the `@flotilla/source` condition) that answer
 * requests over the IPC channel.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Resident set size of `pid` in bytes (`VmRSS`), `null` if it is gone. */
export function procRssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

const require = createRequire(import.meta.url);

/** tsx's ESM loader, for `node --import` (so the pid is the node process itself, not a wrapper). */
export function tsxLoaderUrl(): string {
  return pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
}

/** Node arguments that run a TypeScript file of this workspace from source. */
export function tsNodeArgs(script: string): string[] {
  return ['--conditions=@flotilla/source', '--import', tsxLoaderUrl(), script];
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * A child process running `script` that answers `{ reqId, type, body }` messages with
 * `{ reqId, ok, value | error }` (see `serveRequests`); it first sends `{ ready: true }`.
 */
export class ChildWorker {
  readonly proc: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #stderr = '';
  /** Settles once the child listens: messages sent before its listener is attached are lost. */
  readonly #ready: Promise<void>;
  #onReady = (): void => {};
  readonly #exited: Promise<never>;

  constructor(script: string, args: readonly string[] = [], extraNodeArgs: readonly string[] = []) {
    this.proc = spawn(process.execPath, [...extraNodeArgs, ...tsNodeArgs(script), ...args], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.proc.stderr?.on('data', (b: Buffer) => {
      this.#stderr = (this.#stderr + b.toString()).slice(-4000);
    });
    this.#ready = new Promise<void>((resolve) => {
      this.#onReady = resolve;
    });
    this.proc.on(
      'message',
      (m: { reqId: number; ok: boolean; value?: unknown; error?: string; ready?: boolean }) => {
        if (m.ready === true) {
          this.#onReady();
          return;
        }
        const p = this.#pending.get(m.reqId);
        if (p === undefined) return;
        this.#pending.delete(m.reqId);
        if (m.ok) p.resolve(m.value);
        else p.reject(new Error(m.error));
      },
    );
    this.#exited = new Promise<never>((_, reject) =>
      this.proc.once('exit', (code, sig) =>
        reject(new Error(`child exited (${code ?? sig}): ${this.#stderr.trim().slice(-1500)}`)),
      ),
    );
    this.#exited.catch(() => {});
    this.proc.on('exit', (code, sig) => {
      for (const p of this.#pending.values())
        p.reject(new Error(`child exited (${code ?? sig}): ${this.#stderr.trim().slice(-1500)}`));
      this.#pending.clear();
    });
  }

  /** The child's pid. */
  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Sends a request; resolves with the child's answer. */
  async call<T>(type: string, body: Record<string, unknown> = {}): Promise<T> {
    await Promise.race([this.#ready, this.#exited]);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ reqId: id, type, body });
    });
  }

  /** Asks the child to stop, then kills it if it has not exited after `ms`. */
  async stop(ms = 3000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.call('stop').catch(() => {});
    const t = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await gone;
    clearTimeout(t);
  }
}

/** The child side of {@link ChildWorker}: answers each request with `handle`'s result. */
export function serveRequests(
  handle: (type: string, body: Record<string, unknown>) => Promise<unknown>,
): void {
  process.on('message', (m: { reqId: number; type: string; body: Record<string, unknown> }) => {
    handle(m.type, m.body).then(
      (value) => process.send?.({ reqId: m.reqId, ok: true, value }),
      (err: unknown) =>
        process.send?.({
          reqId: m.reqId,
          ok: false,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true });
}
